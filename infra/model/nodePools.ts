/**
 * The node pools a stack wants, as plain data: what `render` writes to node-pools.json and what the
 * Pulumi layer turns into launch templates and managed node groups.
 */
import type { CapacityType, PoolConfig, StackConfig } from "../config/types";
import { architectureOf } from "../core/instances";
import { nodeTemplateResourceTags } from "./autoscaler";
import { isolationRule, Taint } from "./isolation";

export type PoolRole = "system" | "runner";

export interface NodePool {
  /** EKS node group name prefix basis: `<cluster>-<role>`. */
  name: string;
  role: PoolRole;
  labels: Record<string, string>;
  taints: Taint[];
  instanceTypes: string[];
  capacityType: CapacityType;
  minSize: number;
  maxSize: number;
  desiredSize: number;
  diskSizeGb: number;
  /** EKS AMI type, from the instance types' architecture (Amazon Linux 2023). */
  amiType: "AL2023_x86_64_STANDARD" | "AL2023_ARM_64_STANDARD";
  /**
   * IMDSv2 hop limit. 1 on runner nodes: a job pod is one network hop further than the node, so it cannot
   * read the node's IAM credentials. 2 on system nodes, where add-ons may read instance metadata.
   */
  imdsHopLimit: 1 | 2;
  /** Let the cluster autoscaler own desiredSize (Pulumi ignores drift in it). */
  ignoreScalingChanges: boolean;
  /** Tags for the node group's Auto Scaling group (EKS does not propagate node group tags there). */
  autoscalerTags: Record<string, string>;
}

function pool(
  config: StackConfig,
  role: PoolRole,
  p: PoolConfig,
): Omit<NodePool, "labels" | "taints" | "autoscalerTags"> {
  return {
    name: `${config.cluster.name}-${role}`,
    role,
    instanceTypes: [...p.instanceTypes],
    capacityType: p.capacityType,
    minSize: p.minSize,
    maxSize: p.maxSize,
    desiredSize: p.desiredSize,
    diskSizeGb: p.diskSizeGb,
    amiType:
      architectureOf(p.instanceTypes[0]) === "arm64" ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD",
    imdsHopLimit: role === "runner" ? 1 : 2,
    ignoreScalingChanges: role === "runner",
  };
}

export function desiredNodePools(config: StackConfig): NodePool[] {
  const rule = isolationRule(config.isolation);
  return [
    { ...pool(config, "system", config.systemPool), labels: {}, taints: [], autoscalerTags: {} },
    {
      ...pool(config, "runner", config.runnerPool),
      labels: { ...rule.nodeLabels },
      taints: [{ ...rule.taint }],
      // Label and taint from the isolation rule, resources from the pool: what CA needs to scale up from zero.
      autoscalerTags: { ...rule.autoscalerTags, ...nodeTemplateResourceTags(config.runnerPool) },
    },
  ];
}
