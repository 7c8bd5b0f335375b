/**
 * Cluster Autoscaler as plain data: the chart and its pinned image per Kubernetes minor, the Helm values
 * (auto-discovery by this cluster's tags, tuning for CI, placement on the system pool derived from the
 * isolation rule), the IAM trust and permission policy documents of its IRSA role, and the node-template
 * resource tags the runner pool's Auto Scaling group needs to scale up from zero. The Pulumi layer and
 * `gitlab-eks render` both use these functions.
 */
import type { AutoscalerConfig } from "../config/autoscalerSchema";
import type { PoolConfig, StackConfig } from "../config/types";
import { isolationRule } from "./isolation";
import { COMPONENT_LABEL, SAFE_TO_EVICT } from "./runner";

export const AUTOSCALER_CHART = "cluster-autoscaler";
export const AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler";
export const AUTOSCALER_RELEASE_NAME = "cluster-autoscaler";
export const AUTOSCALER_NAMESPACE = "kube-system";
export const AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler";
/** Where CA writes what it sees (its default name, set explicitly because `verify` reads it). */
export const AUTOSCALER_STATUS_CONFIGMAP = "cluster-autoscaler-status";
/** Value of COMPONENT_LABEL on the autoscaler's pod, which `verify` looks for. */
export const AUTOSCALER_COMPONENT = "cluster-autoscaler";
export const AUTOSCALER_IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler";

const TAG_PREFIX = "k8s.io/cluster-autoscaler";
/** The tag EKS puts on every managed node group's Auto Scaling group of cluster `name` (value `owned`). */
export const clusterOwnershipTag = (clusterName: string) => `${TAG_PREFIX}/${clusterName}`;
/**
 * The runner pool's own tag: the node-template label tag (`.../node-template/label/<key>` = `<value>`) that
 * the isolation rule puts on its Auto Scaling group and on no other group.
 */
export function runnerPoolTag(config: Pick<StackConfig, "isolation">): [string, string] {
  const rule = isolationRule(config.isolation);
  const label = Object.entries(rule.autoscalerTags).find(([k]) => k.endsWith(`/label/${rule.labelKey}`));
  if (!label) throw new Error("the isolation rule has no node-template label tag"); // cannot happen: isolation.ts sets it
  return label;
}

/**
 * Auto-discovery: Auto Scaling groups carrying all three tags, i.e. this cluster's (the two tags EKS puts
 * on every managed node group) runner pool (our node-template label tag, with its value). The system pool
 * keeps the size Pulumi gives it; nothing else in the account is touched.
 */
export function discoveryTags(
  config: Pick<StackConfig, "isolation"> & { cluster: { name: string } },
): string[] {
  const [key, value] = runnerPoolTag(config);
  return [`${TAG_PREFIX}/enabled`, clusterOwnershipTag(config.cluster.name), `${key}=${value}`];
}

/**
 * Node-template resource tags for a pool's Auto Scaling group. At zero nodes CA builds a node from the
 * instance type (CPU, memory) and these tags; without `ephemeral-storage` it assumes none, and a job pod
 * that requests ephemeral storage would never trigger a scale-up. The root volume is the node's storage.
 */
export function nodeTemplateResourceTags(pool: Pick<PoolConfig, "diskSizeGb">): Record<string, string> {
  return { [`${TAG_PREFIX}/node-template/resources/ephemeral-storage`]: `${pool.diskSizeGb}Gi` };
}

/** Deploy-time facts; `render` shows placeholders. */
export interface AutoscalerFacts {
  /** ARN of the IRSA role, for the service account annotation. */
  roleArn: string;
}

export function autoscalerHelmValues(
  config: StackConfig,
  autoscaler: AutoscalerConfig,
  facts: AutoscalerFacts,
): Record<string, unknown> {
  const rule = isolationRule(config.isolation);
  const name = config.cluster.name;
  return {
    cloudProvider: "aws",
    awsRegion: config.region,
    autoDiscovery: { clusterName: name, tags: discoveryTags(config) },
    fullnameOverride: AUTOSCALER_RELEASE_NAME,
    image: { repository: AUTOSCALER_IMAGE_REPOSITORY, tag: autoscaler.imageTag },
    rbac: {
      create: true,
      serviceAccount: {
        create: true,
        name: AUTOSCALER_SERVICE_ACCOUNT,
        annotations: { "eks.amazonaws.com/role-arn": facts.roleArn },
      },
    },
    extraArgs: {
      // Node groups of the same shape (say, a runner pool split per zone) grow together.
      "balance-similar-node-groups": true,
      // Job pods use emptyDir for builds and caches; without this, a node that ran a job could never be removed.
      "skip-nodes-with-local-storage": false,
      // Bursty pipelines: a node stays this long after it is added or becomes unneeded, so the next stage finds it.
      "scale-down-unneeded-time": autoscaler.scaleDownDelay,
      "scale-down-delay-after-add": autoscaler.scaleDownDelay,
      "write-status-configmap": true,
      "status-config-map-name": AUTOSCALER_STATUS_CONFIGMAP,
    },
    // On the system pool, like the agent: no runner toleration, and a required affinity off runner nodes.
    affinity: rule.avoidAffinity,
    tolerations: [],
    nodeSelector: {},
    podLabels: { [COMPONENT_LABEL]: AUTOSCALER_COMPONENT },
    // The autoscaler does not remove the node it runs on while it works.
    podAnnotations: { [SAFE_TO_EVICT]: "false" },
    resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
  };
}

// ---- IAM (IRSA) ------------------------------------------------------------------------------------

export const SERVICE_ACCOUNT_SUBJECT = `system:serviceaccount:${AUTOSCALER_NAMESPACE}:${AUTOSCALER_SERVICE_ACCOUNT}`;

/** Read-only calls CA makes (its README's recommended policy, auto-discovery and launch templates). */
export const AUTOSCALER_READ_ACTIONS = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeAutoScalingInstances",
  "autoscaling:DescribeLaunchConfigurations",
  "autoscaling:DescribeScalingActivities",
  "autoscaling:DescribeTags",
  "ec2:DescribeImages",
  "ec2:DescribeInstanceTypes",
  "ec2:DescribeLaunchTemplateVersions",
  "ec2:GetInstanceTypesFromInstanceRequirements",
];
/** The only calls that change anything: allowed on this cluster's Auto Scaling groups only. */
export const AUTOSCALER_MUTATING_ACTIONS = [
  "autoscaling:SetDesiredCapacity",
  "autoscaling:TerminateInstanceInAutoScalingGroup",
];

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid?: string;
    Effect: "Allow";
    Principal?: { Federated: string };
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string>>;
  }[];
}

/**
 * IRSA trust: only `subject` (`system:serviceaccount:<namespace>:<name>`), through the cluster's OIDC
 * provider (issuer without https://), for the STS audience.
 */
export function irsaTrustPolicy(oidcProviderArn: string, issuer: string, subject: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${issuer}:sub`]: subject, [`${issuer}:aud`]: "sts.amazonaws.com" } },
      },
    ],
  };
}

/** Trust: only the autoscaler's service account. */
export const autoscalerTrustPolicy = (oidcProviderArn: string, issuer: string) =>
  irsaTrustPolicy(oidcProviderArn, issuer, SERVICE_ACCOUNT_SUBJECT);

/**
 * Permissions: reads on `*` (these APIs take no resource), DescribeNodegroup on this cluster's node groups,
 * and the two mutating calls only on Auto Scaling groups whose `k8s.io/cluster-autoscaler/<cluster>` tag is
 * `owned` (the tag EKS puts on this cluster's managed node groups) and that carry the runner pool's own
 * node-template label tag: this cluster's runner pool and nothing else. Partition and account come from
 * the OIDC provider's ARN (`arn:<partition>:iam::<account>:oidc-provider/...`).
 */
export function autoscalerPermissionPolicy(
  config: Pick<StackConfig, "region" | "isolation"> & { cluster: { name: string } },
  oidcProviderArn: string,
): PolicyDocument {
  const [, partition = "aws", , , account = "*"] = oidcProviderArn.split(":");
  const name = config.cluster.name;
  const [poolTag, poolValue] = runnerPoolTag(config);
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Read", Effect: "Allow", Action: AUTOSCALER_READ_ACTIONS, Resource: "*" },
      {
        Sid: "ReadNodegroups",
        Effect: "Allow",
        Action: ["eks:DescribeNodegroup"],
        Resource: `arn:${partition}:eks:${config.region}:${account}:nodegroup/${name}/*`,
      },
      {
        Sid: "ScaleRunnerPool",
        Effect: "Allow",
        Action: AUTOSCALER_MUTATING_ACTIONS,
        Resource: "*",
        Condition: {
          StringEquals: {
            [`aws:ResourceTag/${clusterOwnershipTag(name)}`]: "owned",
            [`aws:ResourceTag/${poolTag}`]: poolValue,
          },
        },
      },
    ],
  };
}
