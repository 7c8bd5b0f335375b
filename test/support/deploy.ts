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
  const files = readStackFiles(ROOT, stack);
  return requireValidConfig({ project: files.project, stack, values: files.values, env: {} });
}

export async function deployUnderMocks(
  world: GitlabWorld,
  stack: string,
  config: StackConfig,
  env: Record<string, string> = { GITLAB_TOKEN: world.maintainerToken },
) {
  const mocks = new RecordingMocks();
  await pulumi.runtime.setMocks(mocks, "gitlab-eks", stack, false);
  const { deployStack } = await import("../../infra/cloud/stack");
  const deployed = deployStack({ ...config, gitlab: { ...config.gitlab, url: world.fake.url } }, { env });
  // A failed preflight leaves the agent's resources unregistered forever: surface its error first.
  if (deployed.agent) await deployed.agent.ready;
  if (deployed.runner) await deployed.runner.ready;
  await settle(deployed.resources);
  return { mocks, deployed };
}
