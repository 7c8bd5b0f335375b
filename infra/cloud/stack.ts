/** Turns a validated stack configuration into resources, and returns the stack's outputs. */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { isolationRule } from "../model/isolation";
import { standardTags } from "../model/tags";
import { createCluster } from "./cluster";
import { createNetwork } from "./network";
import { createNodePools } from "./nodePools";

export function deployStack(config: StackConfig) {
  const tags = standardTags(config);
  const network = createNetwork(config, tags);
  const cluster = createCluster(config, network, tags);
  const nodePools = createNodePools(config, cluster, network, tags);
  const rule = isolationRule(config.isolation);

  return {
    cluster,
    network,
    nodePools,
    /** Every resource this stack registers, for dependsOn and for tests. */
    resources: [...network.resources, cluster, ...nodePools.resources] as pulumi.Resource[],
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
    },
  };
}
