/**
 * `gitlab-eks doctor --stack NAME`: checks the live GitLab the stack talks to, one line per check, with
 * the same preflights `pulumi up` runs before it registers the agent and creates the runner. Loaded lazily by main.ts, so the
 * offline commands never pay for gitbeaker.
 */
import type { StackConfig } from "../config/types";
import { resolveConnection } from "../gitlab/connection";
import { agentPreflight } from "../gitlab/preflight";
import { DEFAULT_RETRY } from "../gitlab/requester";
import { runnerPreflight } from "../gitlab/runnerPreflight";

export async function doctor(
  config: StackConfig,
  env: Record<string, string | undefined>,
  out: (line: string) => void,
): Promise<number> {
  const conn = resolveConnection(config.gitlab, env);
  out(`GitLab ${conn.url}, token from ${conn.tokenVariable}`);
  const interactive = { ...DEFAULT_RETRY, maxAttempts: 2, maxWaitMs: 5_000 };
  let failed = 0;
  const print = (checks: { ok: boolean; name: string; detail: string }[]) => {
    for (const c of checks) out(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
    failed += checks.filter((c) => !c.ok).length;
  };
  if (!config.agent) {
    out("ok    agent: disabled (gitlab-eks:agent.enabled is false); nothing to check");
    if (!config.runner) return 0;
  } else {
    out(`agent "${config.agent.name}" in ${config.agent.project}`);
    // Interactive: answer in seconds rather than wait out a long outage (pulumi up retries longer).
    const { checks } = await agentPreflight(conn, config.agent, { env, retry: interactive });
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
    print(await runnerPreflight(conn, scope, env, interactive));
  }
  out(failed ? `${failed} check${failed === 1 ? "" : "s"} failed` : "all checks passed");
  return failed ? 1 : 0;
}
