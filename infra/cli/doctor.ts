/**
 * `gitlab-eks doctor --stack NAME`: checks the live GitLab the stack talks to, one line per check, with
 * the same preflights `pulumi up` runs before it registers the agent and creates the runner. Loaded lazily by main.ts, so the
 * offline commands never pay for gitbeaker.
 *
 * Interactive: the whole run fits DOCTOR_BUDGET_MS whatever GitLab does (stalls, 429 storms), where
 * `pulumi up` waits out a long outage (30 s per attempt, several attempts).
 */
import type { AgentConfig, StackConfig } from "../config/types";
import { claimAgent } from "../gitlab/agents";
import { gitlabClient } from "../gitlab/client";
import { type GitlabConnection, resolveConnection } from "../gitlab/connection";
import { ownerOf } from "../gitlab/ownership";
import { agentPreflight, type Check } from "../gitlab/preflight";
import { DEFAULT_RETRY, type RetryPolicy, type Sleep } from "../gitlab/requester";
import { runnerPreflight } from "../gitlab/runnerPreflight";

/** Every GitLab request of one doctor run ends within this, counted from its start. */
export const DOCTOR_BUDGET_MS = 35_000;

/** Doctor's request policy, for a run starting at `start`: short attempts, short waits, one deadline. */
export function doctorRetry(start: number): RetryPolicy {
  return {
    ...DEFAULT_RETRY,
    maxAttempts: 3,
    attemptTimeoutMs: 10_000,
    maxWaitMs: 5_000,
    maxDelayMs: 5_000,
    deadline: start + DOCTOR_BUDGET_MS,
  };
}

export interface DoctorOptions {
  /** Defaults to doctorRetry(now); tests pass short timeouts. */
  retry?: RetryPolicy;
  sleep?: Sleep;
}

export async function doctor(
  config: StackConfig,
  env: Record<string, string | undefined>,
  out: (line: string) => void,
  options: DoctorOptions = {},
): Promise<number> {
  const conn = resolveConnection(config.gitlab, env);
  out(`GitLab ${conn.url}, token from ${conn.tokenVariable}`);
  const retry = options.retry ?? doctorRetry(Date.now());
  let failed = 0;
  let unreachable = false;
  const print = (checks: Check[]) => {
    for (const c of checks) out(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
    failed += checks.filter((c) => !c.ok).length;
    unreachable ||= checks.some((c) => c.name === "reachable" && !c.ok);
  };
  if (config.agents.length === 0) {
    out(
      "ok    agent: none (gitlab-eks:agent.enabled, or every gitlab-eks:agents entry's enabled, is false); nothing to check",
    );
    if (!config.runner) return 0;
  }
  for (const agent of config.agents) {
    out(`agent "${agent.name}" in ${agent.project}${agent.index > 0 ? ` (${agent.configKey})` : ""}`);
    // Asking again would only wait out the same silence, or the same refusal, a second time.
    if (unreachable) {
      out("skip  agent checks: not run, GitLab did not serve the first agent's checks (see reachable above)");
      continue;
    }
    const { checks } = await agentPreflight(conn, agent, { env, retry, sleep: options.sleep });
    // Whether pulumi up may register (or use) the agent: only once GitLab let us read its project.
    if (checks.some((c) => c.name === "role on agent project" && c.ok))
      checks.push(await ownershipCheck(conn, config, agent, { env, retry, sleep: options.sleep }));
    print(checks);
  }
  if (config.runner) {
    const scope = config.runner.scope;
    const target =
      scope.runnerType === "project_type"
        ? `project ${scope.project}`
        : scope.runnerType === "group_type"
          ? `group ${scope.group}`
          : "the instance";
    out(`runner (${scope.runnerType}) for ${target}`);
    // Asking again would only wait out the same silence, or the same refusal, a second time.
    if (unreachable)
      out("skip  runner checks: not run, GitLab did not serve the agent checks (see reachable above)");
    else print(await runnerPreflight(conn, scope, env, retry, options.sleep));
  }
  out(failed ? `${failed} check${failed === 1 ? "" : "s"} failed` : "all checks passed");
  return failed ? 1 : 0;
}

/**
 * What `pulumi up` would find in GitLab under the agent's name: nothing (it registers the agent), this
 * stack's agent, one it adopts, or one it refuses (another stack's, or registered by hand without
 * `adopt`), with the reason and the fix naming the agent's own setting.
 */
async function ownershipCheck(
  conn: GitlabConnection,
  config: StackConfig,
  agent: AgentConfig,
  o: { env: Record<string, string | undefined>; retry: RetryPolicy; sleep?: Sleep },
): Promise<Check> {
  const name = "agent in GitLab";
  try {
    const api = gitlabClient(conn, {
      env: o.env,
      retry: o.retry,
      sleep: o.sleep,
      purpose: "Checking the agent",
    });
    const claim = await claimAgent(api, agent.project, agent.name, {
      owner: ownerOf(config.project, config.stack),
      adopt: agent.adopt,
      configKey: agent.configKey,
    });
    switch (claim.kind) {
      case "new":
        return {
          name,
          ok: true,
          detail: `no agent "${agent.name}" in ${agent.project} yet; pulumi up registers it`,
        };
      case "ours":
        return { name, ok: true, detail: `agent "${agent.name}" (id ${claim.agent.id}) is this stack's` };
      case "adopted":
        return {
          name,
          ok: true,
          detail: `agent "${agent.name}" (id ${claim.agent.id}) exists and is adopted (${agent.configKey}.adopt)`,
        };
      case "refused":
        return { name, ok: false, detail: claim.reason };
    }
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message };
  }
}
