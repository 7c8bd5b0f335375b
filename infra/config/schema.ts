/**
 * The shape of the stack configuration (`pulumi config`, namespace `gitlab-eks`): types, ranges, formats
 * and defaults, one schema per top-level key. Rules that relate several settings live in validate.ts.
 *
 * Messages may contain `{key}`: validate.ts replaces it with the full key of the offending setting, so a
 * message can say exactly which `pulumi config set` command fixes it.
 */
import * as v from "valibot";
import { cidrBlock, fix, flag, list, NAMESPACE, oneOf, pattern, section, text, wholeNumber } from "./kit";
import { autoscalerSchema } from "./autoscalerSchema";
import { agentSchema } from "./agent";
import { agentsSchema } from "./agents";
import { gitlabSchema } from "./gitlab";
import { instanceTypeProblem } from "../core/instances";
import { show } from "./problems";
import { runnerSchema } from "./runnerSchema";

export { NAMESPACE };

/**
 * Kubernetes versions GitLab supports for the agent (GitLab docs, "Supported Kubernetes versions for
 * GitLab features": 1.31, 1.32, 1.33 today). Refuse anything else: an unsupported cluster works until
 * the day the agent drops it.
 */
export const SUPPORTED_KUBERNETES_VERSIONS = ["1.31", "1.32", "1.33"] as const;
export const DEFAULT_KUBERNETES_VERSION = "1.33";

export const CONTROL_PLANE_LOG_TYPES = [
  "api",
  "audit",
  "authenticator",
  "controllerManager",
  "scheduler",
] as const;
export const CAPACITY_TYPES = ["ON_DEMAND", "SPOT"] as const;
export const NAT_GATEWAY_MODES = ["single", "one-per-az"] as const;

/** Longest cluster name whose node group name prefix (`<name>-runner-` + 26-char suffix) fits EKS's 63. */
export const MAX_CLUSTER_NAME_LENGTH = 29;
export const MIN_DISK_SIZE_GB = 20;

// ---- formats ---------------------------------------------------------------------------------------

const cidr = cidrBlock;

export const CLUSTER_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const AZ_NAME = /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/;
const IAM_PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;
/** EC2 instance type: family+generation[+attributes].size, e.g. t3.medium, m7gd.2xlarge, c6in.metal. */
export const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
/** EKS takes 0-20 instance types for a node group with a launch template (CreateNodegroup). */
export const MAX_INSTANCE_TYPES = 20;
/** EKS accepts at most 40 CIDR blocks for the public endpoint. */
export const MAX_PUBLIC_ACCESS_CIDRS = 40;
/** A VPC holds at most 200 subnets (default quota). */
const MAX_SUBNETS = 200;

/**
 * AWS allows 50 user tags per resource. The most that this project and EKS add to one resource: node
 * instances carry managed-by, gitlab-eks:project, gitlab-eks:stack, gitlab-eks:cluster, Name and
 * gitlab-eks:pool (ours) plus eks:cluster-name, eks:nodegroup-name and kubernetes.io/cluster/<name>
 * (EKS's): 9, which leaves 41 for gitlab-eks:tags.
 */
export const MAX_USER_TAGS = 50 - 9;
/** Tag keys this project or EKS set themselves: a user tag with such a key would be replaced silently. */
const RESERVED_TAG_KEY =
  /^(managed-by|name|gitlab-eks:.*|eks:.*|kubernetes\.io\/.*|k8s\.io\/cluster-autoscaler\/.*)$/i;
/** What AWS allows in tag keys and values across services: letters, digits, spaces and _ . : / = + - @ */
const TAG_TEXT = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const subnetIds = () =>
  list(
    pattern("a subnet id", SUBNET_ID, "subnet-0123456789abcdef0"),
    "subnet ids",
    "'[...]'",
    MAX_SUBNETS,
    "a VPC has at most 200 subnets",
  );

// ---- sections --------------------------------------------------------------------------------------

export const clusterSchema = section({
  name: v.optional(
    v.pipe(
      text("a cluster name", "my-cluster"),
      v.regex(
        CLUSTER_NAME,
        (i) =>
          `must start with a letter and contain only letters, digits and '-', got ${show(i.input)}. ${fix("my-cluster")}`,
      ),
      v.maxLength(
        MAX_CLUSTER_NAME_LENGTH,
        (i) =>
          `${show(i.input)} is ${String(i.input).length} characters; at most ${MAX_CLUSTER_NAME_LENGTH} so that node group names ` +
          `(<name>-runner- plus EKS's 26-character suffix) fit EKS's 63-character limit. ${fix("<shorter-name>")}`,
      ),
    ),
  ),
  kubernetesVersion: v.optional(
    v.pipe(
      v.union(
        [v.string(), v.number()],
        (i) =>
          `must be a version such as "1.33", got ${show(i.input)}. ${fix(`'"${DEFAULT_KUBERNETES_VERSION}"'`)}`,
      ),
      v.transform((x) => String(x)),
      v.check(
        (x) => (SUPPORTED_KUBERNETES_VERSIONS as readonly string[]).includes(x),
        (i) =>
          `Kubernetes ${show(i.input)} is not a version GitLab supports for the agent; use one of ` +
          `${SUPPORTED_KUBERNETES_VERSIONS.join(", ")} (quote it, so YAML keeps "1.30" from becoming 1.3). ` +
          fix(`'"${DEFAULT_KUBERNETES_VERSION}"'`),
      ),
    ),
    DEFAULT_KUBERNETES_VERSION,
  ),
  vpcCidr: v.optional(cidr("10.0.0.0/16")),
  availabilityZoneCount: v.optional(wholeNumber(2, 6, 3)),
  availabilityZones: v.optional(
    list(
      pattern("an availability zone name such as eu-west-1a", AZ_NAME, "eu-west-1a"),
      "zone names",
      "'[...]'",
      6,
      "availabilityZoneCount goes up to 6",
    ),
  ),
  natGateways: v.optional(oneOf(NAT_GATEWAY_MODES)),
  vpcId: v.optional(pattern("a VPC id such as vpc-0123456789abcdef0", VPC_ID, "vpc-0123456789abcdef0")),
  privateSubnetIds: v.optional(subnetIds()),
  publicSubnetIds: v.optional(subnetIds()),
  endpointPublicAccess: v.optional(flag(), true),
  endpointPrivateAccess: v.optional(flag(), true),
  publicAccessCidrs: v.optional(
    list(
      cidr("203.0.113.0/24"),
      "CIDR blocks",
      "'[...]'",
      MAX_PUBLIC_ACCESS_CIDRS,
      "EKS accepts at most 40 for the public endpoint",
    ),
  ),
  adminRoleArns: v.optional(
    list(
      pattern(
        "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-admin",
        IAM_PRINCIPAL_ARN,
        "arn:aws:iam::123456789012:role/platform-admin",
      ),
      "IAM ARNs",
      "'[...]'",
    ),
    [],
  ),
  logTypes: v.optional(
    list(oneOf(CONTROL_PLANE_LOG_TYPES), "log types", "'[...]'", CONTROL_PLANE_LOG_TYPES.length),
    [...CONTROL_PLANE_LOG_TYPES],
  ),
});

const poolEntries = {
  instanceTypes: v.optional(
    v.pipe(
      list(
        v.pipe(
          pattern("an EC2 instance type such as t3.medium", INSTANCE_TYPE, "t3.medium"),
          v.check(
            (x) => instanceTypeProblem(x) === undefined,
            (i) => {
              const p = instanceTypeProblem(String(i.input));
              const hint = p?.suggestion ? `: did you mean ${p.suggestion}?` : "";
              return `${show(i.input)}: ${p?.problem}${hint} ${fix(p?.suggestion ?? "t3.medium")}`;
            },
          ),
        ),
        "instance types",
        `'["t3.medium"]'`,
        MAX_INSTANCE_TYPES,
        "EKS takes up to 20 instance types per node group",
      ),
      v.minLength(
        1,
        () =>
          `is empty; list at least one EC2 instance type. Fix: pulumi config set --path '{key}[0]' t3.medium`,
      ),
    ),
  ),
  capacityType: v.optional(oneOf(CAPACITY_TYPES), "ON_DEMAND"),
  minSize: v.optional(wholeNumber(0, 1000, 1)),
  maxSize: v.optional(wholeNumber(1, 1000, 3)),
  desiredSize: v.optional(wholeNumber(0, 1000, 1)),
  diskSizeGb: v.optional(wholeNumber(MIN_DISK_SIZE_GB, 16384, 50)),
};
export const systemPoolSchema = section(poolEntries);
export const runnerPoolSchema = section(poolEntries);

export const isolationSchema = section({
  labelKey: v.optional(text("a Kubernetes label key", "workload"), "workload"),
  labelValue: v.optional(text("a Kubernetes label value", "gitlab-runner"), "gitlab-runner"),
});

const tagValue = v.pipe(
  v.union(
    [v.string(), v.number(), v.boolean()],
    (i) => `must be a string, got ${show(i.input)}. ${fix("platform")}`,
  ),
  v.transform((x) => String(x)),
  v.maxLength(256, () => `is longer than AWS's 256-character tag value limit. Fix: shorten it`),
  v.regex(
    TAG_TEXT,
    (i) =>
      `${show(i.input)} is not a valid AWS tag value: letters, digits, spaces and _ . : / = + - @ only. ${fix("platform")}`,
  ),
);

export const tagsSchema = v.pipe(
  v.record(
    v.string(),
    v.unknown(),
    (i) =>
      `must be a map of tag names to values, got ${show(i.input)}. Fix: pulumi config set --path '{key}.team' platform`,
  ),
  v.check(
    (tags) => Object.keys(tags).length <= MAX_USER_TAGS,
    (i) =>
      `has ${Object.keys(i.input).length} tags; AWS allows 50 per resource and this project and EKS use up to ${50 - MAX_USER_TAGS}, ` +
      `so at most ${MAX_USER_TAGS} are accepted. Fix: remove tags (pulumi config rm --path '{key}.<name>')`,
  ),
  v.record(
    v.pipe(
      v.string(),
      v.check(
        (k) => k.length >= 1 && k.length <= 128 && TAG_TEXT.test(k) && !/^aws:/i.test(k),
        (i) =>
          `tag key ${show(i.input)} is not a valid AWS tag key (1-128 letters, digits, spaces and _ . : / = + - @, not starting with "aws:"). ` +
          `Fix: rename it`,
      ),
      v.check(
        (k) => !RESERVED_TAG_KEY.test(k),
        (i) =>
          `tag key ${show(i.input)} is set by this project or EKS on every resource, so this value would be replaced. ` +
          `Fix: pulumi config rm --path '{key}' and use another key`,
      ),
    ),
    tagValue,
  ),
);

/** Pool defaults, per role. `desiredSize` defaults to the role's default, clamped into [minSize, maxSize]. */
export const POOL_DEFAULTS = {
  system: { instanceTypes: ["t3.large"], minSize: 2, maxSize: 4, desiredSize: 2, diskSizeGb: 50 },
  runner: { instanceTypes: ["t3.medium"], minSize: 1, maxSize: 3, desiredSize: 1, diskSizeGb: 30 },
} as const;

/** Every top-level key this project reads, with its schema. Anything else under the namespace is a typo. */
export const SECTIONS = {
  cluster: clusterSchema,
  systemPool: systemPoolSchema,
  runnerPool: runnerPoolSchema,
  isolation: isolationSchema,
  tags: tagsSchema,
  gitlab: gitlabSchema,
  agent: agentSchema,
  agents: agentsSchema,
  runner: runnerSchema,
  autoscaler: autoscalerSchema,
} as const;
export type SectionName = keyof typeof SECTIONS;
/** Each section as parsed, with its defaults; a section whose value is not an object is absent. */
export type Sections = { [K in SectionName]?: v.InferOutput<(typeof SECTIONS)[K]> };
