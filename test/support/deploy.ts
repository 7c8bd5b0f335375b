/** Runs the Pulumi program under mocks against the fake GitLab (the agent's preflight really calls it). */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFiles } from "../../infra/config/stackFiles";
import type { StackConfig } from "../../infra/config/types";
import { requireValidConfig } from "../../infra/config/validate";
import type { GitlabWorld } from "./gitlab-world";
import { RecordingMocks, settle } from "./pulumi-mocks";

export const ROOT = path.resolve(__dirname, "..", "..", "..");

/** The validated config of an example stack (Pulumi.<stack>.yaml in the repository). */
export function exampleConfig(stack: string): StackConfig {
  return exampleConfigWith(stack, {});
}

/**
 * An example stack with some `gitlab-eks:` sections changed the way `pulumi config set --path` would
 * (each entry merged into its section), validated as a whole.
 */
export function exampleConfigWith(
  stack: string,
  sections: Record<string, Record<string, unknown>>,
): StackConfig {
  const files = readStackFiles(ROOT, stack);
  const values: Record<string, unknown> = { ...files.values };
  for (const [key, change] of Object.entries(sections))
    values[`gitlab-eks:${key}`] = { ...(values[`gitlab-eks:${key}`] as object), ...change };
  return requireValidConfig({ project: files.project, stack, values, env: {} });
}

/**
 * An example stack whose agents are `gitlab-eks:agents` (its `gitlab-eks:agent` removed), each entry as
 * `pulumi config set --path 'gitlab-eks:agents[i]...'` would write it; `shorthand` puts the example's
 * `gitlab-eks:agent` settings into entry 0 first (the move docs/several-agents.md describes).
 */
export function exampleConfigWithAgents(
  stack: string,
  agents: Record<string, unknown>[],
  options: { shorthand?: boolean } = {},
): StackConfig {
  const files = readStackFiles(ROOT, stack);
  const { "gitlab-eks:agent": agent, ...values } = files.values as Record<string, unknown>;
  const entries = agents.map((a, i) => (i === 0 && options.shorthand ? { ...(agent as object), ...a } : a));
  values["gitlab-eks:agents"] = entries;
  return requireValidConfig({ project: files.project, stack, values, env: {} });
}

/** The production example on the GitOps path (`agent.installMethod: flux`). */
export const productionWithFlux = () => exampleConfigWith("production", { agent: { installMethod: "flux" } });

export async function deployUnderMocks(
  world: GitlabWorld,
  stack: string,
  config: StackConfig,
  env: Record<string, string> = { GITLAB_TOKEN: world.maintainerToken },
) {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, "gitlab-eks", stack, false);
  mocks.recordDependencies();
  const { deployStack } = await import("../../infra/cloud/stack");
  const deployed = deployStack({ ...config, gitlab: { ...config.gitlab, url: world.fake.url } }, { env });
  // A failed preflight leaves the agent's resources unregistered forever: surface its error first.
  await Promise.all(deployed.agents.map((a) => a.ready));
  if (deployed.runner) await deployed.runner.ready;
  await settle(deployed.resources);
  return { mocks, deployed };
}
