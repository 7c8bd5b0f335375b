/**
 * `gitlab-eks render` output for the runner: the chart values, the exact `runners.config` TOML they
 * carry, and the token Secret with the token shown as `[secret]`. Values that only exist after
 * `pulumi up` (runner id, bucket name, role ARN) are shown as placeholders.
 */
import { stringify } from "yaml";
import { SECRET_PLACEHOLDER } from "../core/secret";
import type { StackConfig } from "../config/types";
import { resolveConnection } from "../core/gitlabUrl";
import { runnerConfigToml, RunnerDeployFacts, runnerHelmValues, runnerTokenSecret } from "./runner";

export const AFTER_UP = "[created by pulumi up]";

/** The GitLab URL the runner talks to (the same resolution the Pulumi program uses). */
export function runnerGitlabUrl(config: StackConfig, env: Record<string, string | undefined> = {}): string {
  return resolveConnection(config.gitlab, env).url;
}

export function renderRunner(config: StackConfig): Record<string, string> {
  const runner = config.runner;
  if (!runner) return {};
  const facts: RunnerDeployFacts = {
    gitlabUrl: runnerGitlabUrl(config),
    runnerId: AFTER_UP,
    ...(runner.cache.enabled ? { cacheBucket: AFTER_UP, cacheRoleArn: AFTER_UP } : {}),
  };
  return {
    "runner-values.yaml": stringify(runnerHelmValues(config, runner, facts), { lineWidth: 0 }),
    "runner-config.toml": runnerConfigToml(config, runner, facts),
    "runner-token-secret.yaml": stringify(runnerTokenSecret(runner, SECRET_PLACEHOLDER)),
  };
}
