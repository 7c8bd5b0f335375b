/**
 * Checks a job's inputs before Pulumi runs, so a mistake is reported as the input to change rather than
 * as a Pulumi error halfway through. Pure: reads files and the environment it is given.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Problem } from "../config/problems";

/**
 * A stack name as `pulumi stack select` takes it in CI: `stack`, `org/stack` or `org/project/stack`, each
 * part letters, digits, '-', '_' and '.' (not dots alone: `../x` is a path, not a stack).
 */
export const CI_STACK_NAME =
  /^(?!\.+(\/|$))[A-Za-z0-9_.-]{1,100}(\/(?!\.+(\/|$))[A-Za-z0-9_.-]{1,100}){0,2}$/;

export interface CheckInput {
  stack: string;
  dir: string;
  backendUrl?: string;
  /** Set on jobs that deploy: the branch this stack deploys from. */
  deployBranch?: string;
}

export interface CheckResult {
  problems: Problem[];
  warnings: string[];
}

/** Stacks that have a Pulumi.<name>.yaml in dir. */
export function stacksIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .sort();
  } catch {
    return [];
  }
}

export function checkInputs(input: CheckInput, env: Record<string, string | undefined>): CheckResult {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const { stack, dir } = input;
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml")) && !fs.existsSync(path.join(dir, "Pulumi.yml")))
    problems.push({
      key: "inputs.root_dir",
      message: `no Pulumi.yaml in ${JSON.stringify(dir)}. Fix: set root_dir to the folder of your Pulumi project (relative to the repository root).`,
    });
  else if (!CI_STACK_NAME.test(stack))
    problems.push({
      key: "inputs.stack",
      message:
        `${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_' and '.', at most 100 each, ` +
        `optionally org/project/stack). Fix: the name of a Pulumi.<stack>.yaml in root_dir, e.g. dev.`,
    });
  else {
    const short = stack.split("/").pop() as string;
    const known = stacksIn(dir);
    if (!known.includes(short))
      problems.push({
        key: "inputs.stack",
        message:
          `unknown stack ${JSON.stringify(stack)}: there is no Pulumi.${short}.yaml in ${JSON.stringify(dir)}. ` +
          (known.length ? `Stacks found: ${known.join(", ")}.` : "No stack files found.") +
          ` Fix: set stack to one of them, or commit Pulumi.${short}.yaml.`,
      });
  }
  if (input.backendUrl !== undefined && input.backendUrl.trim() === "")
    problems.push({
      key: "inputs.backend_url",
      message:
        "no Pulumi backend: the input is empty and so is PULUMI_BACKEND_URL. Fix: set the backend_url input, or a CI/CD variable PULUMI_BACKEND_URL (e.g. s3://bucket/prefix).",
    });
  if (
    input.deployBranch &&
    env.CI_COMMIT_BRANCH === input.deployBranch &&
    env.CI_COMMIT_REF_PROTECTED !== "true"
  )
    warnings.push(
      `warning: branch ${input.deployBranch} deploys stack ${stack} but is not protected. Anyone who can push to it can change this environment. Fix: Settings > Repository > Protected branches, protect ${input.deployBranch} (allowed to push: No one; allowed to merge: Maintainers).`,
    );
  return { problems, warnings };
}
