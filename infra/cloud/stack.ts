/** Turns a validated stack configuration into resources, and returns the stack's outputs. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { isolationRule } from "../model/isolation";
import { standardTags } from "../model/tags";
import { deployAgents } from "./agent";
import { deployAutoscaler } from "./autoscaler";
import { createCluster } from "./cluster";
import { createNetwork } from "./network";
import { createNodePools } from "./nodePools";
import { deployRunner } from "./runner";

export interface DeployOptions {
  /** Where the GitLab token variable and CI_SERVER_URL are read from (default: process.env). */
  env?: Record<string, string | undefined>;
}

export function deployStack(config: StackConfig, options: DeployOptions = {}) {
  const env = options.env ?? process.env;
  const tags = standardTags(config);
  const network = createNetwork(config, tags);
  const cluster = createCluster(config, network, tags);
  const nodePools = createNodePools(config, cluster, network, tags);
  const rule = isolationRule(config.isolation);

  // Kubernetes objects go through the new cluster's kubeconfig; workloads wait for CoreDNS, hence nodes.
  const k8sProvider = new k8s.Provider("k8s", {
    kubeconfig: cluster.kubeconfigJson,
    enableServerSideApply: true,
  });
  const inCluster = [nodePools.coredns];
  const agentsDeployment = deployAgents(config, { provider: k8sProvider, dependsOn: inCluster, env });
  const { agents } = agentsDeployment;
  const [agent] = agents;
  // The runner and the autoscaler act on the runner pool: it exists first.
  const onRunnerPool = {
    cluster,
    k8sProvider,
    tags,
    dependsOn: [...inCluster, nodePools.pools.runner.nodeGroup],
  };
  const runner = config.runner && deployRunner(config, config.runner, { ...onRunnerPool, env });
  const autoscaler = config.autoscaler && deployAutoscaler(config, config.autoscaler, onRunnerPool);

  return {
    cluster,
    network,
    nodePools,
    k8sProvider,
    agents,
    /** What the agents share: their namespaces, and Flux's release when any agent is installed through Flux. */
    agentsShared: agentsDeployment,
    runner,
    autoscaler,
    /** Every resource this stack registers, for dependsOn and for tests. */
    resources: [
      ...network.resources,
      cluster,
      ...nodePools.resources,
      k8sProvider,
      ...agentsDeployment.resources,
      ...agents.flatMap((a) => a.resources),
      ...(runner?.resources ?? []),
      ...(autoscaler?.resources ?? []),
    ] as pulumi.Resource[],
    outputs: {
      region: config.region,
      clusterName: cluster.eksCluster.apply((c) => c.name),
      kubeconfig: pulumi.secret(cluster.kubeconfigJson),
      oidcProviderArn: cluster.oidcProviderArn,
      vpcId: network.vpcId,
      privateSubnetIds: pulumi.all(network.privateSubnetIds),
      systemPoolName: nodePools.pools.system.name,
      runnerPoolName: nodePools.pools.runner.name,
      isolationLabel: rule.label,
      isolationTaint: rule.taintString,
      sharedSecurityGroupId: nodePools.sharedSecurityGroup.id,
      ...(agent
        ? {
            // The first agent, as before `gitlab-eks:agents`; `agents` lists every one.
            agentName: config.agents[0].name,
            agentId: agent.agent.agentId,
            agentProject: config.agents[0].project,
            // Receptive mode: the URL GitLab connects to (configured, or the exposing load balancer's).
            agentReceptiveUrl: agent.receptiveUrl ?? config.agents[0].receptiveUrl,
            agents: Object.fromEntries(
              config.agents.map((a, i) => [
                a.name,
                {
                  id: agents[i].agent.agentId,
                  project: a.project,
                  namespace: a.namespace,
                  releaseName: a.releaseName,
                  receptiveUrl: agents[i].receptiveUrl ?? a.receptiveUrl,
                },
              ]),
            ),
          }
        : {}),
      ...(autoscaler ? { autoscalerRoleArn: autoscaler.role.arn } : {}),
      ...(runner
        ? {
            runnerId: runner.runner.runnerId,
            runnerNamespace: config.runner!.namespace,
            runnerCacheBucket: runner.cache ? runner.cache.bucket.bucket : undefined,
          }
        : {}),
    },
  };
}
