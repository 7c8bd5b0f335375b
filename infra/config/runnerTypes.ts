/** The validated `gitlab-eks:runner` section: GitLab Runner on the isolated pool. */

export type RunnerType = "project_type" | "group_type" | "instance_type";
export type AccessLevel = "not_protected" | "ref_protected";
/**
 * Where the runner manager pod runs. `runner-pool`: on the isolated pool with the job pods (the seed's
 * layout; CI traffic and CI load stay off the system nodes). `system-pool`: on the system nodes, so the
 * runner pool can shrink to zero nodes when no job runs.
 */
export type ManagerPlacement = "runner-pool" | "system-pool";

/** Kubernetes quantities, as given (validated: parseable, request <= limit). */
export interface Resources {
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

/** Job container resources, plus the caps up to which a job may raise them (KUBERNETES_CPU_REQUEST, ...). */
export interface JobResources extends Resources {
  cpuRequestMaxAllowed: string;
  cpuLimitMaxAllowed: string;
  memoryRequestMaxAllowed: string;
  memoryLimitMaxAllowed: string;
}

/** Which project or group the runner belongs to; a path (`group/sub/project`) or a numeric id. */
export type RunnerScope =
  | { runnerType: "project_type"; project: string }
  | { runnerType: "group_type"; group: string }
  | { runnerType: "instance_type" };

export interface RunnerConfig {
  scope: RunnerScope;
  description: string;
  tags: string[];
  runUntagged: boolean;
  locked: boolean;
  accessLevel: AccessLevel;
  /** Seconds; undefined leaves GitLab's per-project timeouts alone. */
  maximumTimeout?: number;
  paused: boolean;
  managerPlacement: ManagerPlacement;
  concurrent: number;
  checkInterval: number;
  pollTimeout: number;
  privileged: boolean;
  /** Default image for jobs that name none. */
  image: string;
  jobResources: JobResources;
  helperResources: Resources;
  managerResources: Resources;
  cache: { enabled: boolean; expirationDays: number };
  chartVersion: string;
  /** Namespace of the manager, the job pods and the token Secret. */
  namespace: string;
  /** Mount a Kubernetes API token into job pods (off: jobs get no credentials for the cluster). */
  jobServiceAccountToken: boolean;
}
