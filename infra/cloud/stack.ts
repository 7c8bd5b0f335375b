/** Turns a validated stack configuration into resources, and returns the stack's outputs. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { isolationRule } from "../model/isolation";
import { standardTags } from "../model/tags";
import { createCluster } from "./cluster";
import { createNetwork } from "./network";
import { createNodePools } from "./nodePools";
import { deployRunner } from "./runner";

export function deployStack(config: StackConfig) {
  const tags = standardTags(config);
  const network = createNetwork(config, tags);
  const cluster = createCluster(config, network, tags);
  const nodePools = createNodePools(config, cluster, network, tags);
  const rule = isolationRule(config.isolation);
  const k8sProvider = new k8s.Provider("k8s", { kubeconfig: cluster.kubeconfigJson });
  const runner =
    config.runner &&
    deployRunner(config, config.runner, {
      cluster,
      k8sProvider,
      tags,
      dependsOn: [nodePools.pools.system.nodeGroup, nodePools.pools.runner.nodeGroup],
    });

  return {
    cluster,
    network,
    nodePools,
    runner,
    /** Every resource this stack registers, for dependsOn and for tests. */
    resources: [
      ...network.resources,
      cluster,
      ...nodePools.resources,
      ...(runner?.resources ?? []),
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
      runnerId: runner ? runner.runner.runnerId : undefined,
      runnerNamespace: config.runner?.namespace,
      runnerCacheBucket: runner?.cache ? runner.cache.bucket.bucket : undefined,
    },
  };
}
