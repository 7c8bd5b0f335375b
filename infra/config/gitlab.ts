/**
 * Config for the GitLab side: `gitlab-eks:gitlab` (where GitLab is, which env var holds the token) and
 * `gitlab-eks:agent` (the GitLab agent for Kubernetes). Schemas, defaults and cross-setting rules.
 */
import * as v from "valibot";
import { dnsLabelProblem } from "../model/kubernetes";
import { cpuQuantityProblem, memoryQuantityProblem } from "../model/quantity";
import { fix, flag, oneOf, pattern, section, text, wholeNumber } from "./kit";
import { show, type Problem } from "./problems";

const HTTP_URL = /^https?:\/\/[^\s/]+(\/[^\s]*)?$/;
const KAS_URL = /^(grpcs?|wss?):\/\/[^\s/]+(\/[^\s]*)?$/;
const RECEPTIVE_URL = /^grpcs?:\/\/[^\s/]+(\/[^\s]*)?$/;
/** A project or group: a full path (`group/sub/project`) or a numeric id. */
export const PROJECT_REF = /^(\d+|[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*)$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IMAGE_TAG = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const CHART_VERSION = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

export const ENVIRONMENT_TIERS = ["production", "staging", "testing", "development", "other"] as const;
export type EnvironmentTier = (typeof ENVIRONMENT_TIERS)[number];
export const AGENT_RBAC_MODES = ["least-privilege", "cluster-admin"] as const;
export const ACCESS_AS = ["agent", "ci_job"] as const;
export const DEFAULT_AGENT_CHART_VERSION = "2.12.2";

export const gitlabSchema = section({
  url: v.optional(pattern("the https URL of the GitLab instance", HTTP_URL, "https://gitlab.example.com")),
  tokenVariable: v.optional(pattern("an environment variable name", ENV_VAR, "GITLAB_TOKEN"), "GITLAB_TOKEN"),
  agentProject: v.optional(
    pattern("a project path such as group/clusters, or a project id", PROJECT_REF, "group/clusters"),
  ),
});

const accessEntry = section({
  id: pattern("a project or group path (or numeric id)", PROJECT_REF, "group/app"),
  defaultNamespace: v.optional(text("a Kubernetes namespace", "app")),
  accessAs: v.optional(oneOf(ACCESS_AS), "agent"),
  environments: v.optional(v.array(text("an environment name or pattern", "production"))),
});

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

export const agentSchema = section({
  enabled: v.optional(flag(), true),
  name: v.optional(text("an agent name", "prod-cluster")),
  namespace: v.optional(text("a Kubernetes namespace", "gitlab-agent"), "gitlab-agent"),
  releaseName: v.optional(text("a Helm release name", "gitlab-agent"), "gitlab-agent"),
  chartVersion: v.optional(
    pattern("a chart version such as 2.12.2", CHART_VERSION, DEFAULT_AGENT_CHART_VERSION),
    DEFAULT_AGENT_CHART_VERSION,
  ),
  imageTag: v.optional(pattern("an agentk image tag such as v18.5.1", IMAGE_TAG, "v18.5.1")),
  kasAddress: v.optional(
    pattern("a KAS address (wss://, grpc:// or grpcs://)", KAS_URL, "wss://kas.gitlab.example.com"),
  ),
  kasCaCert: v.optional(pattern("a PEM certificate", PEM, '"$(cat kas-ca.pem)"')),
  httpProxy: v.optional(pattern("a proxy URL", HTTP_URL, "http://proxy.internal:3128")),
  httpsProxy: v.optional(pattern("a proxy URL", HTTP_URL, "http://proxy.internal:3128")),
  noProxy: v.optional(text("a comma-separated host list", "10.0.0.0/8,.internal")),
  receptiveUrl: v.optional(
    pattern(
      "a grpc:// or grpcs:// URL at which GitLab reaches the agent",
      RECEPTIVE_URL,
      "grpcs://agent.example.com:443",
    ),
  ),
  replicas: v.optional(wholeNumber(1, 10, 2), 2),
  requests: v.optional(resourceList),
  limits: v.optional(resourceList),
  rbac: v.optional(oneOf(AGENT_RBAC_MODES), "least-privilege"),
  ciAccess: v.optional(
    section({
      projects: v.optional(v.array(accessEntry), []),
      groups: v.optional(v.array(accessEntry), []),
    }),
    { projects: [], groups: [] },
  ),
  userAccess: v.optional(
    section({
      accessAs: v.optional(oneOf(["agent", "user"] as const), "agent"),
      projects: v.optional(v.array(pattern("a project path", PROJECT_REF, "group/app")), []),
      groups: v.optional(v.array(pattern("a group path", PROJECT_REF, "group")), []),
    }),
  ),
  environment: v.optional(
    section({
      name: v.optional(text("an environment name", "production")),
      tier: v.optional(oneOf(ENVIRONMENT_TIERS)),
      kubernetesNamespace: v.optional(text("a Kubernetes namespace", "default")),
    }),
    {},
  ),
  tokenRotation: v.optional(
    v.pipe(
      v.union([v.string(), v.number()], () => `must be a string, e.g. a date. ${fix("2026-11")}`),
      v.transform(String),
    ),
    "initial",
  ),
  retainOnDelete: v.optional(flag(), false),
  adopt: v.optional(flag(), false),
});

export interface AccessEntry {
  id: string;
  defaultNamespace?: string;
  accessAs: "agent" | "ci_job";
  environments?: string[];
}

export interface GitlabConfig {
  /** Configured URL; when absent, CI_SERVER_URL or https://gitlab.com at run time. */
  url?: string;
  tokenVariable: string;
}

export interface AgentConfig {
  name: string;
  /** Project the agent is registered in (holds .gitlab/agents/<name>/config.yaml). */
  project: string;
  namespace: string;
  releaseName: string;
  chartVersion: string;
  imageTag?: string;
  kasAddress?: string;
  kasCaCert?: string;
  proxy: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
  /** Receptive mode (GitLab reaches the agent at this URL); absent for the usual outbound mode. */
  receptiveUrl?: string;
  replicas: number;
  resources: {
    requests: { cpu?: string; memory?: string };
    limits: { cpu?: string; memory?: string };
  };
  rbac: "least-privilege" | "cluster-admin";
  ciAccess: { projects: AccessEntry[]; groups: AccessEntry[] };
  userAccess?: { accessAs: "agent" | "user"; projects: string[]; groups: string[] };
  environment: { name: string; tier: EnvironmentTier; kubernetesNamespace: string };
  tokenRotation: string;
  retainOnDelete: boolean;
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

type AgentRaw = v.InferOutput<typeof agentSchema>;
type GitlabRaw = v.InferOutput<typeof gitlabSchema>;

export function checkGitlab(g: Partial<GitlabRaw>): GitlabConfig {
  return { url: g.url?.replace(/\/+$/, ""), tokenVariable: g.tokenVariable ?? "GITLAB_TOKEN" };
}

/** Cross-setting rules for the agent; returns undefined when disabled or when a problem was found. */
export function checkAgent(
  a: Partial<AgentRaw>,
  g: Partial<GitlabRaw>,
  ctx: { stack: string; clusterName?: string; bad: (field: string) => boolean },
  problems: Problem[],
): AgentConfig | undefined {
  const key = (f: string) => `gitlab-eks:agent.${f}`;
  const before = problems.length;
  if (a.enabled === false) return undefined;

  if (!g.agentProject)
    problems.push({
      key: "gitlab-eks:gitlab.agentProject",
      message:
        "is not set; the GitLab agent is registered in a project, which keeps its config file. " +
        "Fix: pulumi config set --path 'gitlab-eks:gitlab.agentProject' <group/project> (or disable the agent: pulumi config set --path 'gitlab-eks:agent.enabled' false)",
    });

  const name = a.name ?? ctx.clusterName?.toLowerCase();
  if (name !== undefined && !ctx.bad("name")) {
    const p = dnsLabelProblem(name);
    if (p)
      problems.push({
        key: key("name"),
        message: `${a.name === undefined ? `is not set and the default (the cluster name, lowercased) ` : ""}${p}: GitLab agent names are RFC 1123 DNS labels. Fix: pulumi config set --path '${key("name")}' <name>`,
      });
  }
  for (const f of ["namespace", "releaseName"] as const) {
    const value = a[f];
    if (value === undefined || ctx.bad(f)) continue;
    const p = dnsLabelProblem(value);
    if (p)
      problems.push({ key: key(f), message: `${p}. Fix: pulumi config set --path '${key(f)}' gitlab-agent` });
  }

  const tier = a.environment?.tier ?? tierOf(ctx.stack);
  if (a.rbac === "cluster-admin" && (tier === "production" || tierOf(ctx.stack) === "production"))
    problems.push({
      key: key("rbac"),
      message:
        `cluster-admin is refused for a production stack (stack "${ctx.stack}", tier ${tier}): any CI job with access to the agent ` +
        `could do anything in the cluster. Fix: pulumi config set --path '${key("rbac")}' least-privilege and grant namespaces through agent.ciAccess`,
    });

  if (a.receptiveUrl !== undefined && a.kasAddress !== undefined)
    problems.push({
      key: key("kasAddress"),
      message: `is set together with agent.receptiveUrl; a receptive agent does not connect to KAS. Fix: pulumi config rm --path '${key("kasAddress")}'`,
    });

  const quantityChecks = [
    ["cpu", cpuQuantityProblem, "100m"],
    ["memory", memoryQuantityProblem, "256Mi"],
  ] as const;
  for (const kind of ["requests", "limits"] as const) {
    for (const [resource, problemOf, example] of quantityChecks) {
      const value = a[kind]?.[resource];
      const p = value === undefined ? undefined : problemOf(value);
      if (p)
        problems.push({
          key: key(`${kind}.${resource}`),
          message: `${show(value)} ${p}. Fix: pulumi config set --path '${key(`${kind}.${resource}`)}' ${example}`,
        });
    }
  }

  const entries = [
    ...(a.ciAccess?.projects ?? []).map((e, i) => ({ e, k: `ciAccess.projects[${i}]` })),
    ...(a.ciAccess?.groups ?? []).map((e, i) => ({ e, k: `ciAccess.groups[${i}]` })),
  ];
  const seen = new Map<string, string>();
  for (const { e, k } of entries) {
    if (e.defaultNamespace !== undefined) {
      const p = dnsLabelProblem(e.defaultNamespace);
      if (p)
        problems.push({
          key: key(`${k}.defaultNamespace`),
          message: `${p}. Fix: pulumi config set --path '${key(`${k}.defaultNamespace`)}' <namespace>`,
        });
    }
    const prior = seen.get(`${k.split("[")[0]}:${e.id}`);
    if (prior)
      problems.push({
        key: key(`${k}.id`),
        message: `${e.id} is listed twice (also ${prior}); GitLab reads one entry per project or group. Fix: pulumi config rm --path '${key(k)}'`,
      });
    seen.set(`${k.split("[")[0]}:${e.id}`, k);
  }
  if (entries.length > 500)
    problems.push({
      key: key("ciAccess"),
      message: `lists ${entries.length} projects and groups; GitLab allows at most 500. Fix: share the agent with groups instead of single projects`,
    });

  if (
    problems.length > before ||
    !g.agentProject ||
    !name ||
    a.namespace === undefined ||
    a.releaseName === undefined
  )
    return undefined;
  return {
    name,
    project: g.agentProject,
    namespace: a.namespace,
    releaseName: a.releaseName,
    chartVersion: a.chartVersion ?? DEFAULT_AGENT_CHART_VERSION,
    imageTag: a.imageTag,
    kasAddress: a.kasAddress,
    kasCaCert: a.kasCaCert,
    proxy: { httpProxy: a.httpProxy, httpsProxy: a.httpsProxy, noProxy: a.noProxy },
    receptiveUrl: a.receptiveUrl,
    replicas: a.replicas ?? 2,
    resources: {
      requests: { cpu: "50m", memory: "128Mi", ...stripUndefined(a.requests) },
      limits: { memory: "256Mi", ...stripUndefined(a.limits) },
    },
    rbac: a.rbac ?? "least-privilege",
    ciAccess: {
      projects: (a.ciAccess?.projects ?? []) as AccessEntry[],
      groups: (a.ciAccess?.groups ?? []) as AccessEntry[],
    },
    userAccess: a.userAccess,
    environment: {
      name: a.environment?.name ?? ctx.stack,
      tier,
      // Where CI deploys is what the environment page should show.
      kubernetesNamespace:
        a.environment?.kubernetesNamespace ??
        [...(a.ciAccess?.projects ?? []), ...(a.ciAccess?.groups ?? [])].find((e) => e.defaultNamespace)
          ?.defaultNamespace ??
        "default",
    },
    tokenRotation: a.tokenRotation ?? "initial",
    retainOnDelete: a.retainOnDelete ?? false,
    adopt: a.adopt ?? false,
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, x]) => x !== undefined)) as Partial<T>;
}
