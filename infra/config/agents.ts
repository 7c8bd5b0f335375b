/**
 * The stack's agents: `gitlab-eks:agent` (one agent, the shorthand) or `gitlab-eks:agents` (a list; each
 * entry takes every `agent` setting plus `project`), and the rules between them. Two agents of one stack
 * may not share a name (GitLab refuses it in one project, and their cluster-wide RBAC objects would collide
 * in one cluster), a namespace and release name, a namespace and token Secret, an environment of one
 * project, or a Flux folder of one project; Flux is installed once per cluster, so its namespace and chart
 * version are the same for every agent installed through it.
 */
import * as v from "valibot";
import { list, NAMESPACE, pattern, section } from "./kit";
import { agentEntries, type AgentConfig } from "./agent";
import { checkAgent } from "./agentRules";
import { type GitlabRaw, PROJECT_REF } from "./gitlab";
import { parseObject } from "./parse";
import type { Problem } from "./problems";

/** Agents one stack registers at most: each is a GitLab agent, a Helm release and a token lifecycle. */
export const MAX_AGENTS = 20;

/** `gitlab-eks:agents` as a list; each entry is parsed field by field with agentEntrySchema. */
export const agentsSchema = list(
  v.unknown(),
  "agents",
  "'[{name: platform}, {name: apps, project: group/apps-agents}]'",
  MAX_AGENTS,
  "each is a GitLab agent, a Helm release and a token lifecycle",
);

export const agentEntrySchema = section({
  ...agentEntries,
  project: v.optional(pattern("a project path (or numeric id)", PROJECT_REF, "group/agents")),
});

/** Raw values of the two keys, as the stack file holds them (undefined when absent). */
export interface AgentsInput {
  agent: unknown;
  agents: unknown;
  /** The shorthand as parsed (defaults applied), with its invalid fields recorded by the caller. */
  parsedAgent?: Record<string, unknown>;
  parsedAgents?: unknown[];
}

export function checkAgents(
  input: AgentsInput,
  g: Partial<GitlabRaw> | undefined,
  ctx: { stack: string; clusterName?: string; invalid: Set<string>; unchecked: string[] },
  problems: Problem[],
): AgentConfig[] | undefined {
  if (!g) return undefined;
  const before = problems.length;
  const agentProjectBad = ctx.invalid.has("gitlab.agentProject");
  if (input.agents !== undefined && input.agent !== undefined) {
    problems.push({
      key: `${NAMESPACE}:agents`,
      message:
        `is set together with ${NAMESPACE}:agent; a stack lists its agents in one of them. ` +
        `Fix: move the settings of ${NAMESPACE}:agent into the first entry of ${NAMESPACE}:agents (it keeps the same defaults), then pulumi config rm ${NAMESPACE}:agent`,
    });
    return undefined;
  }

  const agents: AgentConfig[] = [];
  if (input.agents === undefined) {
    if (!input.parsedAgent) return undefined;
    const a = checkAgent(
      input.parsedAgent,
      g,
      {
        stack: ctx.stack,
        clusterName: ctx.clusterName,
        bad: (f) => ctx.invalid.has(`agent.${f}`),
        agentProjectBad,
        configKey: `${NAMESPACE}:agent`,
        index: 0,
      },
      problems,
    );
    if (a) agents.push(a);
  } else {
    const entries = input.parsedAgents;
    if (!entries) return undefined;
    if (entries.length === 0)
      problems.push({
        key: `${NAMESPACE}:agents`,
        message: `is an empty list. Fix: list at least one agent, or pulumi config rm ${NAMESPACE}:agents and set ${NAMESPACE}:agent.enabled false for a stack without an agent`,
      });
    entries.forEach((raw, index) => {
      const configKey = `${NAMESPACE}:agents[${index}]`;
      const path = `agents[${index}]`;
      const entry = parseObject(configKey, agentEntrySchema, raw, problems, ctx.invalid, ctx.unchecked);
      if (!entry) return;
      const a = checkAgent(
        entry,
        g,
        {
          stack: ctx.stack,
          clusterName: ctx.clusterName,
          bad: (f) => ctx.invalid.has(`${path}.${f}`),
          agentProjectBad,
          configKey,
          index,
        },
        problems,
      );
      if (a) agents.push(a);
    });
  }
  checkCollisions(agents, problems);
  return problems.length > before ? undefined : agents;
}

/** Each later agent that takes what an earlier one has, named with the setting that clashes. */
function checkCollisions(agents: AgentConfig[], problems: Problem[]): void {
  const told = new Set<string>();
  const rules: {
    field: string;
    of: (a: AgentConfig) => string | undefined;
    why: (a: AgentConfig) => string;
  }[] = [
    {
      field: "name",
      of: (a) => a.name,
      why: (a) =>
        `the name ${a.name}: GitLab refuses a second agent of that name in one project, and in one cluster their RBAC objects (gitlab-agent-${a.name}) would be the same`,
    },
    {
      field: "releaseName",
      of: (a) => `${a.namespace}/${a.releaseName}`,
      why: (a) => `Helm release ${a.releaseName} in namespace ${a.namespace}`,
    },
    {
      field: "tokenSecretName",
      // A default Secret name (<releaseName>-token) clashes with the release: fixing that fixes both.
      of: (a) =>
        told.has(`${a.configKey}.releaseName`) && a.tokenSecretName === `${a.releaseName}-token`
          ? undefined
          : `${a.namespace}/${a.tokenSecretName}`,
      why: (a) => `the token Secret ${a.tokenSecretName} in namespace ${a.namespace}`,
    },
    {
      field: "environment.name",
      of: (a) => `${a.project}\u0000${a.environment.name}`,
      why: (a) => `environment ${a.environment.name} of project ${a.project}`,
    },
    {
      // Flux's HelmRelease and HelmRepository of each agent are named after its release, in Flux's namespace.
      field: "releaseName",
      of: (a) => (a.installMethod === "flux" ? `flux\u0000${a.releaseName}` : undefined),
      why: (a) =>
        `the release name ${a.releaseName}, which names the agent's HelmRelease in Flux's namespace ${a.flux.namespace}`,
    },
  ];
  for (const rule of rules) {
    const seen = new Map<string, AgentConfig>();
    for (const a of agents) {
      const id = rule.of(a);
      if (id === undefined) continue;
      const first = seen.get(id);
      const key = `${a.configKey}.${rule.field}`;
      if (first && !told.has(key)) {
        told.add(key);
        problems.push({
          key,
          message: `gives this agent ${rule.why(a)}, as ${first.configKey} has. Fix: pulumi config set --path '${key}' <another value>`,
        });
      } else if (!first) seen.set(id, a);
    }
  }
  checkFluxCollisions(
    agents.filter((a) => a.installMethod === "flux"),
    problems,
  );
}

/** One Flux per cluster; each agent's manifest folder its own (not inside another's: Flux reads folders recursively). */
function checkFluxCollisions(agents: AgentConfig[], problems: Problem[]): void {
  const [first, ...others] = agents;
  for (const a of others) {
    for (const f of ["namespace", "chartVersion"] as const)
      if (a.flux[f] !== first.flux[f])
        problems.push({
          key: `${a.configKey}.flux.${f}`,
          message: `is ${a.flux[f]} but ${first.configKey}.flux.${f} is ${first.flux[f]}; the cluster runs one Flux for every agent installed through it. Fix: pulumi config set --path '${a.configKey}.flux.${f}' ${first.flux[f]}`,
        });
  }
  agents.forEach((a, i) => {
    const inside = (x: string, y: string) => x === y || x.startsWith(`${y}/`);
    const other = agents
      .slice(0, i)
      .find(
        (b) =>
          b.project === a.project &&
          (inside(a.flux.manifestPath, b.flux.manifestPath) ||
            inside(b.flux.manifestPath, a.flux.manifestPath)),
      );
    if (other)
      problems.push({
        key: `${a.configKey}.flux.manifestPath`,
        message: `${a.flux.manifestPath} overlaps ${other.configKey}.flux.manifestPath (${other.flux.manifestPath}) in project ${a.project}; Flux applies every manifest under a folder, so each agent needs its own. Fix: pulumi config set --path '${a.configKey}.flux.manifestPath' .gitlab/flux/${a.name}`,
      });
  });
}
