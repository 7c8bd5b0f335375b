/**
 * Config for `gitlab-eks:agent` (the GitLab agent for Kubernetes) and each `gitlab-eks:agents` entry: the
 * schema and the validated shape. The rules across settings are in agentRules.ts.
 */
import * as v from "valibot";
import { dnsLabelProblem } from "../core/kubernetes";
import { fix, flag, list, oneOf, pattern, section, text, wholeNumber } from "./kit";
import { KAS_URL, PROJECT_REF, PROXY_URL } from "./gitlab";
import { AGENT_INSTALL_METHODS, type FluxConfig, fluxSchema } from "./flux";
import { show } from "./problems";
import {
  AGENT_RBAC_MODES,
  type AgentRbacMode,
  existingRoleSchema,
  existingServiceAccountSchema,
  type ReceptiveConfig,
  receptiveSchema,
  receptiveUrlSchema,
} from "./agentModes";

/** GitLab's environment name rule: letters, digits, spaces and - _ / $ { } . ; not starting or ending with '/'. */
const ENVIRONMENT_NAME = /^(?!\/)[A-Za-z0-9 _./${}-]{1,255}(?<!\/)$/;
/** An environment name or a `*` pattern, as ci_access `environments` takes them. */
const ENVIRONMENT_PATTERN = /^(?!\/)[A-Za-z0-9 _./${}*-]{1,255}(?<!\/)$/;
/** GitLab authorizes an agent for at most 500 projects and groups (ci_access, user_access). */
const MAX_AUTHORIZED = 500;
const IMAGE_TAG = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const CHART_VERSION = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

export const ENVIRONMENT_TIERS = ["production", "staging", "testing", "development", "other"] as const;
export type EnvironmentTier = (typeof ENVIRONMENT_TIERS)[number];
export const ACCESS_AS = ["agent", "ci_job"] as const;
export const DEFAULT_AGENT_CHART_VERSION = "2.12.2";

const accessEntry = section({
  id: pattern("a project or group path (or numeric id)", PROJECT_REF, "group/app"),
  defaultNamespace: v.optional(text("a Kubernetes namespace", "app")),
  accessAs: v.optional(oneOf(ACCESS_AS), "agent"),
  environments: v.optional(
    list(
      pattern("an environment name or pattern such as review/*", ENVIRONMENT_PATTERN, "production"),
      "environments",
      "'[production]'",
    ),
  ),
});

/** A Kubernetes namespace: an RFC 1123 label (it names RBAC objects' namespace). */
const namespaceName = (example: string) =>
  v.pipe(
    text("a Kubernetes namespace", example),
    v.check(
      (x) => dnsLabelProblem(x) === undefined,
      (i) =>
        `${dnsLabelProblem(String(i.input))}: a Kubernetes namespace is an RFC 1123 label. ${fix(example)}`,
    ),
  );

const resourceList = section({
  cpu: v.optional(
    v.pipe(
      v.union(
        [v.string(), v.number()],
        (i) => `must be a CPU quantity such as 100m, got ${show(i.input)}. ${fix("100m")}`,
      ),
      v.transform(String),
    ),
  ),
  memory: v.optional(text("a memory quantity", "256Mi")),
});

/** Namespace and release name of the agent from `gitlab-eks:agent` and of the first `agents` entry. */
export const DEFAULT_AGENT_RELEASE = "gitlab-agent";
/** Helm release names are at most 53 characters (Helm's limit, so that generated names fit 63). */
export const MAX_RELEASE_NAME_LENGTH = 53;

export const agentEntries = {
  enabled: v.optional(flag(), true),
  name: v.optional(text("an agent name", "prod-cluster")),
  namespace: v.optional(text("a Kubernetes namespace", DEFAULT_AGENT_RELEASE)),
  releaseName: v.optional(text("a Helm release name", DEFAULT_AGENT_RELEASE)),
  tokenSecretName: v.optional(text("a Kubernetes Secret name", "gitlab-agent-token")),
  chartVersion: v.optional(
    pattern("a chart version such as 2.12.2", CHART_VERSION, DEFAULT_AGENT_CHART_VERSION),
    DEFAULT_AGENT_CHART_VERSION,
  ),
  imageTag: v.optional(pattern("an agentk image tag such as v18.5.1", IMAGE_TAG, "v18.5.1")),
  kasAddress: v.optional(
    pattern("a KAS address (wss://, grpc:// or grpcs://)", KAS_URL, "wss://kas.gitlab.example.com"),
  ),
  kasCaCert: v.optional(
    v.pipe(
      text("a PEM certificate", '"$(cat kas-ca.pem)"', { max: 65536, multiline: true }),
      v.regex(PEM, (i) => `must be a PEM certificate, got ${show(i.input)}. ${fix('"$(cat kas-ca.pem)"')}`),
    ),
  ),
  httpProxy: v.optional(pattern("a proxy URL", PROXY_URL, "http://proxy.internal:3128")),
  httpsProxy: v.optional(pattern("a proxy URL", PROXY_URL, "http://proxy.internal:3128")),
  noProxy: v.optional(
    pattern("a comma-separated host list", /^[A-Za-z0-9.,:/*_[\]-]*$/, "10.0.0.0/8,.internal", 4096),
  ),
  /** The older spelling of `receptive.url`, still accepted. */
  receptiveUrl: v.optional(receptiveUrlSchema()),
  receptive: v.optional(receptiveSchema),
  replicas: v.optional(wholeNumber(1, 10, 2), 2),
  requests: v.optional(resourceList),
  limits: v.optional(resourceList),
  rbac: v.optional(oneOf(AGENT_RBAC_MODES), "least-privilege"),
  existingServiceAccount: v.optional(existingServiceAccountSchema),
  existingRole: v.optional(existingRoleSchema),
  ciAccess: v.optional(
    section({
      projects: v.optional(list(accessEntry, "projects", "'[...]'", MAX_AUTHORIZED, "GitLab's limit"), []),
      groups: v.optional(list(accessEntry, "groups", "'[...]'", MAX_AUTHORIZED, "GitLab's limit"), []),
    }),
    { projects: [], groups: [] },
  ),
  userAccess: v.optional(
    section({
      accessAs: v.optional(oneOf(["agent", "user"] as const), "agent"),
      projects: v.optional(
        list(
          pattern("a project path", PROJECT_REF, "group/app"),
          "projects",
          "'[...]'",
          MAX_AUTHORIZED,
          "GitLab's limit",
        ),
        [],
      ),
      groups: v.optional(
        list(
          pattern("a group path", PROJECT_REF, "group"),
          "groups",
          "'[...]'",
          MAX_AUTHORIZED,
          "GitLab's limit",
        ),
        [],
      ),
    }),
  ),
  environment: v.optional(
    section({
      name: v.optional(
        pattern(
          "a GitLab environment name (letters, digits, spaces and - _ / $ { } ., not starting or ending with /)",
          ENVIRONMENT_NAME,
          "production",
        ),
      ),
      tier: v.optional(oneOf(ENVIRONMENT_TIERS)),
      kubernetesNamespace: v.optional(namespaceName("default")),
    }),
    {},
  ),
  tokenRotation: v.optional(
    v.pipe(
      v.union([v.string(), v.number()], () => `must be a string, e.g. a date. ${fix("2026-11")}`),
      v.transform(String),
      text("a string, e.g. a date", "2026-11", { max: 255 }),
    ),
    "initial",
  ),
  retainOnDelete: v.optional(flag(), false),
  installMethod: v.optional(oneOf(AGENT_INSTALL_METHODS), "helm"),
  flux: v.optional(fluxSchema, {}),
  allowCiAccessInProduction: v.optional(flag(), false),
  /**
   * Operational container scanning (GitLab Ultimate). Off by default: when on, the gitlab-agent chart
   * creates a ClusterRole and ClusterRoleBinding that let the scanner's service account list and get
   * secrets, nodes, pods, workloads and RBAC objects cluster-wide, whatever `rbac` says.
   */
  containerScanning: v.optional(flag(), false),
  adopt: v.optional(flag(), false),
};

export const agentSchema = section(agentEntries);

export interface AccessEntry {
  id: string;
  defaultNamespace?: string;
  accessAs: "agent" | "ci_job";
  environments?: string[];
}

export interface AgentConfig {
  /** Where this agent's settings are: `gitlab-eks:agent`, or `gitlab-eks:agents[<index>]`; messages name it. */
  configKey: string;
  /** Position in `gitlab-eks:agents` (0 for `gitlab-eks:agent`): the first agent keeps the shorthand's defaults. */
  index: number;
  /**
   * Appended to the Pulumi resource names of this agent's resources: empty for `gitlab-eks:agent`, `-<name>`
   * for an `agents` entry, so that several agents' resources never share a name.
   */
  resourceSuffix: string;
  name: string;
  /** Project the agent is registered in (holds .gitlab/agents/<name>/config.yaml). */
  project: string;
  namespace: string;
  releaseName: string;
  /** Our Secret holding the agent token (key `token`), in `namespace`; the chart's config.secretName. */
  tokenSecretName: string;
  chartVersion: string;
  imageTag?: string;
  kasAddress?: string;
  kasCaCert?: string;
  proxy: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
  /** The configured receptive URL (`receptive.url` or `receptiveUrl`); absent when `receptive.expose` gives it. */
  receptiveUrl?: string;
  /** Receptive mode (GitLab connects to the agent): URL, TLS settings, exposure; absent for the outbound agent. */
  receptive?: ReceptiveConfig;
  replicas: number;
  resources: {
    requests: { cpu?: string; memory?: string };
    limits: { cpu?: string; memory?: string };
  };
  rbac: AgentRbacMode;
  /** rbac existing-service-account: agentk runs as this service account, which the chart does not create. */
  existingServiceAccount?: string;
  /** rbac existing-role: the chart binds agentk's service account to this ClusterRole (`rbac.useExistingRole`). */
  existingRole?: string;
  ciAccess: { projects: AccessEntry[]; groups: AccessEntry[] };
  userAccess?: { accessAs: "agent" | "user"; projects: string[]; groups: string[] };
  environment: { name: string; tier: EnvironmentTier; kubernetesNamespace: string };
  tokenRotation: string;
  retainOnDelete: boolean;
  /** Operational container scanning: the chart's cluster-wide scanner RBAC, and agentk's scanner pods. */
  containerScanning: boolean;
  /** `helm`: a helm.v3.Release of the agent; `flux`: Flux reconciles the agent from the agent project. */
  installMethod: "helm" | "flux";
  flux: FluxConfig;
  /**
   * Use an agent of this name that exists in GitLab and that this stack did not register (e.g. one made by
   * `glab cluster agent bootstrap`). Adopted objects are released, never deleted, on destroy; an agent
   * another gitlab-eks stack manages is refused all the same. Default false: an existing agent is refused.
   */
  adopt: boolean;
}

/** production/prod → production, staging/stage → staging, dev/development → development, test → testing. */
export function tierOf(stack: string): EnvironmentTier {
  const s = stack.toLowerCase();
  if (/^(prod|production)([-_.].*)?$/.test(s)) return "production";
  if (/^(stage|staging)([-_.].*)?$/.test(s)) return "staging";
  if (/^(dev|development)([-_.].*)?$/.test(s)) return "development";
  if (/^(test|testing|qa)([-_.].*)?$/.test(s)) return "testing";
  return "other";
}
