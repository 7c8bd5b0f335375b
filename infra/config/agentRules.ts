/**
 * Cross-setting rules of one agent's settings (`gitlab-eks:agent`, or one entry of `gitlab-eks:agents`,
 * whose key the messages name), with the defaults that depend on its place in the list.
 */
import type * as v from "valibot";
import { dnsLabelProblem, dnsSubdomainProblem } from "../core/kubernetes";
import { cpuQuantityProblem, memoryQuantityProblem } from "../core/quantity";
import {
  type AccessEntry,
  type AgentConfig,
  agentSchema,
  DEFAULT_AGENT_CHART_VERSION,
  DEFAULT_AGENT_RELEASE,
  MAX_RELEASE_NAME_LENGTH,
  tierOf,
} from "./agent";
import { checkRbac, checkReceptive } from "./agentModes";
import { checkFluxRules, fluxConfigOf } from "./flux";
import type { GitlabRaw } from "./gitlab";
import { show, type Problem } from "./problems";

type AgentRaw = v.InferOutput<typeof agentSchema> & { project?: string };

/** Where an agent's settings are, and what its defaults depend on. */
export interface AgentPlace {
  stack: string;
  clusterName?: string;
  /** A field of this agent's settings failed its own format (its problem is reported already). */
  bad: (field: string) => boolean;
  agentProjectBad?: boolean;
  /** `gitlab-eks:agent`, or `gitlab-eks:agents[<index>]`. */
  configKey: string;
  /** Position in `gitlab-eks:agents`; 0 for `gitlab-eks:agent`. */
  index: number;
}

/** Cross-setting rules for one agent; returns undefined when disabled or when a problem was found. */
export function checkAgent(
  a: Partial<AgentRaw>,
  g: Partial<GitlabRaw>,
  ctx: AgentPlace,
  problems: Problem[],
): AgentConfig | undefined {
  const key = (f: string) => `${ctx.configKey}.${f}`;
  const listed = ctx.configKey !== "gitlab-eks:agent";
  const before = problems.length;
  if (a.enabled === false) return undefined;

  const project = a.project ?? g.agentProject;
  if (!project && !ctx.agentProjectBad && !ctx.bad("project"))
    problems.push(
      listed
        ? {
            key: key("project"),
            message:
              "is not set, and neither is gitlab-eks:gitlab.agentProject; an agent is registered in a project, which keeps its config file. " +
              `Fix: pulumi config set --path '${key("project")}' <group/project> (or set gitlab-eks:gitlab.agentProject for every agent)`,
          }
        : {
            key: "gitlab-eks:gitlab.agentProject",
            message:
              "is not set; the GitLab agent is registered in a project, which keeps its config file. " +
              "Fix: pulumi config set --path 'gitlab-eks:gitlab.agentProject' <group/project> (or disable the agent: pulumi config set --path 'gitlab-eks:agent.enabled' false)",
          },
    );

  // The first agent is named after the cluster; every other one needs its own name.
  const name = a.name ?? (ctx.index === 0 ? ctx.clusterName?.toLowerCase() : undefined);
  if (a.name === undefined && ctx.index > 0)
    problems.push({
      key: key("name"),
      message: `is not set; every agent after the first needs its own name (an RFC 1123 DNS label). Fix: pulumi config set --path '${key("name")}' <name>`,
    });
  if (name !== undefined && !ctx.bad("name")) {
    const p = dnsLabelProblem(name);
    if (p)
      problems.push({
        key: key("name"),
        message: `${a.name === undefined ? `is not set and the default (the cluster name, lowercased) ` : ""}${p}: GitLab agent names are RFC 1123 DNS labels. Fix: pulumi config set --path '${key("name")}' <name>`,
      });
  }
  // The first agent installs as gitlab-agent in gitlab-agent; the others as gitlab-agent-<name>.
  const fallback = ctx.index === 0 ? DEFAULT_AGENT_RELEASE : `${DEFAULT_AGENT_RELEASE}-${name ?? "<name>"}`;
  const namespace = a.namespace ?? fallback;
  const releaseName = a.releaseName ?? fallback;
  const tokenSecretName = a.tokenSecretName ?? `${releaseName}-token`;
  const named = { namespace, releaseName, tokenSecretName };
  for (const f of ["namespace", "releaseName", "tokenSecretName"] as const) {
    if (ctx.bad(f) || (a[f] === undefined && name === undefined)) continue;
    const value = named[f];
    const defaulted = a[f] === undefined ? `is not set and the default ${show(value)} ` : "";
    const p =
      (f === "tokenSecretName" ? dnsSubdomainProblem(value) : dnsLabelProblem(value)) ??
      (f === "releaseName" && value.length > MAX_RELEASE_NAME_LENGTH
        ? `is ${value.length} characters long; Helm release names are at most ${MAX_RELEASE_NAME_LENGTH}`
        : undefined);
    if (p)
      problems.push({
        key: key(f),
        message: `${defaulted}${p}. Fix: pulumi config set --path '${key(f)}' ${f === "tokenSecretName" ? "gitlab-agent-token" : DEFAULT_AGENT_RELEASE}`,
      });
  }

  const tier = a.environment?.tier ?? tierOf(ctx.stack);
  const production = tier === "production" || tierOf(ctx.stack) === "production";
  const rules = { configKey: ctx.configKey, stack: ctx.stack, tier, production };
  const rbac = checkRbac(a, { ...rules, bad: ctx.bad }, problems);
  checkFluxRules(a, project, rules, problems);
  const receptive = checkReceptive(a, ctx.configKey, ctx.bad, problems);

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

  if (problems.length > before || !rbac || !project || !name) return undefined;
  return {
    configKey: ctx.configKey,
    index: ctx.index,
    resourceSuffix: listed ? `-${name}` : "",
    name,
    project,
    namespace,
    releaseName,
    tokenSecretName,
    chartVersion: a.chartVersion ?? DEFAULT_AGENT_CHART_VERSION,
    imageTag: a.imageTag,
    kasAddress: a.kasAddress,
    kasCaCert: a.kasCaCert,
    proxy: { httpProxy: a.httpProxy, httpsProxy: a.httpsProxy, noProxy: a.noProxy },
    receptiveUrl: receptive?.url,
    receptive,
    replicas: a.replicas ?? 2,
    resources: {
      requests: { cpu: "50m", memory: "128Mi", ...stripUndefined(a.requests) },
      limits: { memory: "256Mi", ...stripUndefined(a.limits) },
    },
    ...rbac,
    ciAccess: {
      projects: (a.ciAccess?.projects ?? []) as AccessEntry[],
      groups: (a.ciAccess?.groups ?? []) as AccessEntry[],
    },
    userAccess: a.userAccess,
    environment: {
      // The first agent's environment is named after the stack; the others' sit in its folder.
      name: a.environment?.name ?? (ctx.index === 0 ? ctx.stack : `${ctx.stack}/${name}`),
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
    containerScanning: a.containerScanning ?? false,
    installMethod: a.installMethod ?? "helm",
    flux: fluxConfigOf(a.flux, ctx.clusterName ?? name, ctx.index === 0 ? undefined : name),
    adopt: a.adopt ?? false,
  };
}

function stripUndefined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, x]) => x !== undefined)) as Partial<T>;
}
