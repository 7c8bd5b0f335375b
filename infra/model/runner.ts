/**
 * GitLab Runner on the isolated pool, as plain data: the runner's `config.toml` template (built with a
 * TOML library from structured data) and the gitlab-runner chart's values. The Pulumi layer passes these
 * to Helm; `gitlab-eks render` writes them out. Every placement setting comes from the isolation rule.
 * No secret is ever part of these values: the runner token lives in a Kubernetes Secret that the chart
 * reads through `runners.secret`.
 */
import { stringify } from "smol-toml";
import type { Resources, RunnerConfig } from "../config/runnerTypes";
import type { StackConfig } from "../config/types";
import { isolationRule, managerPodPlacement, runnerJobPlacement } from "./isolation";

export const RUNNER_CHART = "gitlab-runner";
export const RUNNER_CHART_REPO = "https://charts.gitlab.io";
export const RUNNER_RELEASE_NAME = "gitlab-runner";
/** Our Secret holding the runner token (keys `runner-token`, `runner-registration-token`). */
export const RUNNER_TOKEN_SECRET = "gitlab-runner-token";
/** Service account of the manager pod (the IRSA role for the cache is bound to it). */
export const MANAGER_SERVICE_ACCOUNT = "gitlab-runner";
/** Service account of the job pods: no RBAC, no API token unless runner.jobServiceAccountToken. */
export const JOB_SERVICE_ACCOUNT = "gitlab-runner-job";
/** Label on manager and job pods, which `gitlab-eks verify` uses to tell them apart. */
export const COMPONENT_LABEL = "gitlab-eks/component";
export const MANAGER_COMPONENT = "runner-manager";
export const JOB_COMPONENT = "runner-job";
/** Keeps Cluster Autoscaler from scaling down a node under a running job. */
export const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";

/**
 * Pod annotation on the manager carrying the GitLab runner's id. The chart's own `checksum/secrets`
 * hashes only the Secret the chart renders, which is empty with `runners.secret`, so a new runner (new
 * type, project or group: a new token in our Secret) would change no pod template and the manager would
 * keep polling with the deleted runner's token. A new runner has a new id: the manager rolls and reads
 * the new token. The id is not a secret; the token never appears in the values.
 */
export const RUNNER_ID_ANNOTATION = "gitlab-eks/runner-id";

/** What only exists once the stack is deployed; `render` shows placeholders. */
export interface RunnerDeployFacts {
  gitlabUrl: string;
  /** Id of the runner in GitLab (changes whenever the runner, and so its token, is replaced). */
  runnerId: string;
  /** S3 cache bucket name, when runner.cache.enabled. */
  cacheBucket?: string;
  /** IRSA role ARN for the manager's service account, when runner.cache.enabled. */
  cacheRoleArn?: string;
}

/** The S3 cache settings' home: the bucket's region and a per-cluster path inside it. */
function cacheSection(config: StackConfig, bucket: string) {
  return {
    Type: "s3",
    Shared: true,
    Path: config.cluster.name,
    s3: {
      ServerAddress: "s3.amazonaws.com",
      BucketName: bucket,
      BucketLocation: config.region,
      AuthenticationType: "iam",
    },
  };
}

/** The `[[runners]]` template the chart merges into the runner's config.toml (`runners.config`). */
export function runnerConfigData(config: StackConfig, runner: RunnerConfig, facts: RunnerDeployFacts) {
  const rule = isolationRule(config.isolation);
  const job = runner.jobResources;
  const helper = runner.helperResources;
  const kubernetes = {
    namespace: runner.namespace,
    image: runner.image,
    privileged: runner.privileged,
    poll_timeout: runner.pollTimeout,
    service_account: JOB_SERVICE_ACCOUNT,
    cpu_request: job.cpuRequest,
    cpu_limit: job.cpuLimit,
    memory_request: job.memoryRequest,
    memory_limit: job.memoryLimit,
    cpu_request_overwrite_max_allowed: job.cpuRequestMaxAllowed,
    cpu_limit_overwrite_max_allowed: job.cpuLimitMaxAllowed,
    memory_request_overwrite_max_allowed: job.memoryRequestMaxAllowed,
    memory_limit_overwrite_max_allowed: job.memoryLimitMaxAllowed,
    helper_cpu_request: helper.cpuRequest,
    helper_cpu_limit: helper.cpuLimit,
    helper_memory_request: helper.memoryRequest,
    helper_memory_limit: helper.memoryLimit,
    pod_labels: { [COMPONENT_LABEL]: JOB_COMPONENT },
    pod_annotations: { [SAFE_TO_EVICT]: "false" },
    ...runnerJobPlacement(rule),
  };
  const entry: Record<string, unknown> = { executor: "kubernetes", kubernetes };
  if (runner.cache.enabled) entry.cache = cacheSection(config, facts.cacheBucket ?? "");
  return { runners: [entry] };
}

export function runnerConfigToml(
  config: StackConfig,
  runner: RunnerConfig,
  facts: RunnerDeployFacts,
): string {
  const toml = stringify(runnerConfigData(config, runner, facts));
  return toml.endsWith("\n") ? toml : `${toml}\n`;
}

function podResources(r: Resources) {
  return {
    requests: { cpu: r.cpuRequest, memory: r.memoryRequest },
    limits: { cpu: r.cpuLimit, memory: r.memoryLimit },
  };
}

/**
 * RBAC for the manager, limited to its own namespace (where job pods run): what the Kubernetes
 * executor needs (GitLab Runner docs, "Configure runner API permissions"), nothing cluster-wide.
 */
export const RUNNER_RBAC_RULES = [
  { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
  { apiGroups: [""], resources: ["pods"], verbs: ["create", "delete", "get", "list", "watch"] },
  { apiGroups: [""], resources: ["pods/attach"], verbs: ["create", "delete", "get", "patch"] },
  { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "delete", "get", "patch"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get", "list"] },
  { apiGroups: [""], resources: ["secrets"], verbs: ["create", "delete", "get", "update"] },
  { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "delete", "get", "update"] },
  { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get"] },
  { apiGroups: [""], resources: ["services"], verbs: ["create", "get"] },
];

/** Values for the gitlab-runner chart. */
export function runnerHelmValues(config: StackConfig, runner: RunnerConfig, facts: RunnerDeployFacts) {
  const placement = managerPodPlacement(isolationRule(config.isolation), runner.managerPlacement);
  return {
    gitlabUrl: facts.gitlabUrl,
    concurrent: runner.concurrent,
    checkInterval: runner.checkInterval,
    rbac: { create: true, clusterWideAccess: false, rules: RUNNER_RBAC_RULES },
    serviceAccount: {
      create: true,
      name: MANAGER_SERVICE_ACCOUNT,
      annotations: runner.cache.enabled ? { "eks.amazonaws.com/role-arn": facts.cacheRoleArn ?? "" } : {},
    },
    runners: {
      secret: RUNNER_TOKEN_SECRET,
      config: runnerConfigToml(config, runner, facts),
    },
    podLabels: { [COMPONENT_LABEL]: MANAGER_COMPONENT },
    podAnnotations: { [RUNNER_ID_ANNOTATION]: facts.runnerId },
    resources: podResources(runner.managerResources),
    affinity: placement.affinity,
    tolerations: placement.tolerations,
    nodeSelector: placement.nodeSelector,
  };
}

/** The Secret the chart reads the token from; `token` is the glrt- token (render passes `[secret]`). */
export function runnerTokenSecret(runner: RunnerConfig, token: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: RUNNER_TOKEN_SECRET, namespace: runner.namespace },
    type: "Opaque",
    // The chart requires both keys; registration tokens are gone (GitLab 18), so the second is empty.
    stringData: { "runner-token": token, "runner-registration-token": "" },
  };
}
