/**
 * Validates a stack's configuration once, reporting every problem at once, and returns the typed
 * configuration with defaults filled in. Used by the Pulumi program (before any resource is registered)
 * and by the offline CLI (`gitlab-eks validate`, `render`); it imports nothing from @pulumi/*.
 */
import { checkAutoscaler } from "./autoscalerSchema";
import { checkAgents } from "./agents";
import { checkCluster, checkIsolation, checkPool, regionOf } from "./clusterRules";
import { checkGitlab } from "./gitlab";
import { dedupe, misspeltNamespace, parseObject, secretKeys, suggest } from "./parse";
import { ConfigError, Problem } from "./problems";
import { checkRunner } from "./runnerRules";
import { NAMESPACE, SECTIONS, type SectionName, type Sections } from "./schema";
import type { StackConfig } from "./types";

export interface ConfigInput {
  /** Pulumi project name (Pulumi.yaml `name`). */
  project: string;
  /** Stack name, e.g. `dev`. */
  stack: string;
  /** Config values by full key (`gitlab-eks:cluster`, `aws:region`); keys without a namespace are ours. */
  values: Record<string, unknown>;
  /** Environment, for the region fallback (AWS_REGION, AWS_DEFAULT_REGION) the AWS provider also uses. */
  env?: Record<string, string | undefined>;
}

/**
 * `unchecked`: keys holding a `secure:` value that only the Pulumi CLI can decrypt (offline they are
 * SECRET_PLACEHOLDER); they count as set, and the Pulumi program checks their decrypted values.
 */
export type Validation =
  | { ok: true; config: StackConfig; unchecked: string[] }
  | { ok: false; problems: Problem[]; unchecked: string[] };

export function validateStackConfig(input: ConfigInput): Validation {
  const problems: Problem[] = [];
  const unchecked: string[] = [];
  const ours = new Map<string, unknown>();
  const values: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input.values)) {
    const key = rawKey.includes(":") ? rawKey : `${NAMESPACE}:${rawKey}`;
    values[key] = value;
    if (key.startsWith(`${NAMESPACE}:`)) ours.set(key.slice(NAMESPACE.length + 1), value);
    else misspeltNamespace(key, problems);
  }

  const known = Object.keys(SECTIONS);
  for (const name of ours.keys()) {
    if (!known.includes(name)) {
      const hint = suggest(name, known);
      problems.push({
        key: `${NAMESPACE}:${name}`,
        message:
          `unknown setting; it is not read${hint ? `: did you mean ${NAMESPACE}:${hint}?` : " (a typo?)."} ` +
          `Fix: pulumi config rm ${NAMESPACE}:${name}` +
          (hint ? ` and set ${NAMESPACE}:${hint} instead` : `; known settings: ${known.join(", ")}`),
      });
    }
  }

  const parsed: Sections = {};
  const invalid = new Set<string>();
  for (const name of known as SectionName[]) {
    // A list of sections is parsed entry by entry by its own rules; absent, it is not there at all.
    if (name === "agents" && !ours.has(name)) continue;
    const base = `${NAMESPACE}:${name}`;
    const result = parseObject(base, SECTIONS[name], ours.get(name), problems, invalid, unchecked);
    if (result) (parsed as Record<string, unknown>)[name] = result;
  }

  const afterParse = problems.length;
  const region = regionOf(values, input.env ?? {}, problems);
  const bad = (section: string) => (field: string) => invalid.has(`${section}.${field}`);
  const cluster =
    parsed.cluster && checkCluster(parsed.cluster, ours.get("cluster"), bad("cluster"), input, problems);
  const systemPool =
    parsed.systemPool && checkPool("systemPool", "system", parsed.systemPool, bad("systemPool"), problems);
  const runnerPool =
    parsed.runnerPool && checkPool("runnerPool", "runner", parsed.runnerPool, bad("runnerPool"), problems);
  const isolation = parsed.isolation && checkIsolation(parsed.isolation, bad("isolation"), problems);
  const gitlab = parsed.gitlab && checkGitlab(parsed.gitlab);
  const agents = checkAgents(
    {
      agent: ours.get("agent"),
      agents: ours.get("agents"),
      parsedAgent: parsed.agent,
      parsedAgents: parsed.agents,
    },
    parsed.gitlab,
    { stack: input.stack, clusterName: cluster?.name ?? parsed.cluster?.name, invalid, unchecked },
    problems,
  );
  const runner =
    parsed.runner &&
    checkRunner(
      parsed.runner,
      ours.get("runner"),
      bad("runner"),
      {
        runnerPool,
        defaultDescription: `${cluster?.name ?? `${input.project}-${input.stack}`} (gitlab-eks)`,
      },
      problems,
    );

  const autoscaler =
    parsed.autoscaler &&
    checkAutoscaler(
      parsed.autoscaler,
      bad("autoscaler"),
      {
        kubernetesVersion: bad("cluster")("kubernetesVersion")
          ? undefined
          : parsed.cluster?.kubernetesVersion,
        runnerPool,
      },
      problems,
    );

  // A rule that relates a secure value (a string that passed its own format) judged the placeholder.
  const secrets = secretKeys(ours);
  for (const p of problems.slice(afterParse).filter((p) => secrets.has(p.key))) {
    unchecked.push(p.key);
    problems.splice(problems.indexOf(p), 1);
  }

  if (
    problems.length > 0 ||
    !region ||
    !cluster ||
    !systemPool ||
    !runnerPool ||
    !isolation ||
    !parsed.tags
  ) {
    return { ok: false, problems: dedupe(problems), unchecked: [...new Set(unchecked)] };
  }
  return {
    ok: true,
    unchecked: [...new Set(unchecked)],
    config: {
      project: input.project,
      stack: input.stack,
      region,
      cluster,
      systemPool,
      runnerPool,
      isolation,
      ...(runner ? { runner } : {}),
      ...(autoscaler ? { autoscaler } : {}),
      tags: parsed.tags,
      gitlab: gitlab as NonNullable<typeof gitlab>,
      agents: agents ?? [],
    },
  };
}

/** As validateStackConfig, but throws a ConfigError listing every problem. */
export function requireValidConfig(input: ConfigInput): StackConfig {
  const result = validateStackConfig(input);
  if (!result.ok) throw new ConfigError(result.problems, input.stack);
  return result.config;
}
