/** The validated stack configuration: every default filled in, every cross-setting rule checked. */
import type { AutoscalerConfig } from "./autoscalerSchema";
import type { AgentConfig } from "./agent";
import type { GitlabConfig } from "./gitlab";
import type { RunnerConfig } from "./runnerTypes";

export type { AgentConfig, AutoscalerConfig, GitlabConfig, RunnerConfig };

export type CapacityType = "ON_DEMAND" | "SPOT";

export interface PoolConfig {
  instanceTypes: string[];
  capacityType: CapacityType;
  minSize: number;
  maxSize: number;
  desiredSize: number;
  diskSizeGb: number;
}

/** Either a VPC this stack creates, or an existing one whose subnets it uses. */
export type NetworkConfig =
  | {
      mode: "create";
      vpcCidr: string;
      /** Explicit zones; when absent, the first `availabilityZoneCount` zones of the region are used. */
      availabilityZones?: string[];
      availabilityZoneCount: number;
      natGateways: "single" | "one-per-az";
    }
  | {
      mode: "existing";
      vpcId: string;
      privateSubnetIds: string[];
      publicSubnetIds: string[];
    };

export interface ClusterConfig {
  name: string;
  kubernetesVersion: string;
  network: NetworkConfig;
  endpointPublicAccess: boolean;
  endpointPrivateAccess: boolean;
  /** Empty when the public endpoint is off. */
  publicAccessCidrs: string[];
  adminRoleArns: string[];
  logTypes: string[];
}

export interface IsolationConfig {
  labelKey: string;
  labelValue: string;
}

export interface StackConfig {
  project: string;
  stack: string;
  region: string;
  cluster: ClusterConfig;
  systemPool: PoolConfig;
  runnerPool: PoolConfig;
  isolation: IsolationConfig;
  /** GitLab Runner on the isolated pool; undefined when `gitlab-eks:runner` is absent or disabled. */
  runner?: RunnerConfig;
  /** Cluster Autoscaler for the runner pool; undefined when `gitlab-eks:autoscaler.enabled` is false. */
  autoscaler?: AutoscalerConfig;
  /** Tags for every AWS resource, on top of the ones this project always sets. */
  tags: Record<string, string>;
  gitlab: GitlabConfig;
  /**
   * The GitLab agents for Kubernetes in this cluster: the one of `gitlab-eks:agent` (none when its
   * `enabled` is false), or each enabled entry of `gitlab-eks:agents`, in order.
   */
  agents: AgentConfig[];
}
