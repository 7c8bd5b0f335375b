/**
 * `gitlab-eks ci ...`: what the CI/CD component's jobs run. `ci job <name>` is the whole job (job.ts); the
 * other subcommands are its steps on their own (steps.ts), for pipelines that run pulumi themselves. Each
 * reads files Pulumi wrote and the job's predefined variables, and talks to GitLab only through
 * infra/gitlab. Failures are reported as problems (the input or variable to change, and how), exit code 1.
 */
import { Argument, type Command } from "commander";
import * as path from "node:path";
import { ConfigError } from "../config/problems";
import { escapeText } from "../core/text";
import { checkInputs, CI_STACK_NAME } from "./check";
import { DEFAULT_TOKEN_VARIABLE, maskingProblems, stepIo, type CiIo, type StepIo } from "./io";
import { runJob } from "./job";
import { JOBS, type JobName } from "./settings";
import {
  driftStep,
  outputsStep,
  previewStep,
  promoteStep,
  type DriftOptions,
  type PreviewOptions,
  type PromoteOptions,
} from "./steps";

/** Runs a step with the job's secrets masked in what it prints, its problems included. */
function masked(
  io: CiIo,
  tokenVariables: string[],
  step: (io: StepIo) => void | Promise<void>,
): Promise<void> {
  const sio = stepIo(io, tokenVariables);
  return maskingProblems(sio.mask, () => step(sio));
}

/** The options of `ci` subcommands that name a stack, by commander's attribute name. */
const STACK_OPTIONS: Record<string, [flags: string, flag: string]> = {
  stack: ["-s, --stack <name>", "--stack"],
  fromStack: ["--from-stack <name>", "--from-stack"],
};

/**
 * Every stack option of a `ci` subcommand that is not a stack name, one line each, as the CLI's own
 * `--stack` says it. A stack name ends up in the MR note, issue and merge request markers, file names
 * and pulumi's arguments.
 */
export function badStackOptions(opts: Record<string, unknown>): string[] {
  return Object.entries(STACK_OPTIONS)
    .filter(([attr]) => typeof opts[attr] === "string" && !CI_STACK_NAME.test(opts[attr] as string))
    .map(
      ([attr, [flags, flag]]) =>
        `option '${flags}' argument is invalid. ${escapeText(JSON.stringify(opts[attr]))} is not a stack name ` +
        `(letters, digits, '-', '_' and '.', at most 100 each, optionally org/project/stack). Fix: ${flag} dev`,
    );
}

export function registerCiCommands(program: Command, io: CiIo): void {
  const ci = program
    .command("ci")
    .description(
      "The GitLab CI/CD component's jobs (`ci job`) and their steps: checks, MR notes, widget report, promotion, drift.",
    )
    // Before any step runs: a usage error (exit 2) naming every bad stack option at once.
    .hook("preAction", (_ci, step) => {
      const bad = badStackOptions(step.opts());
      if (bad.length)
        step.error(`error: ${bad.join("\nerror: ")}`, { exitCode: 2, code: "gitlab-eks.stack" });
    });

  ci.command("job")
    .description(
      "Run a whole component job from its variables: checks, OIDC web identity, install command, stack select, pulumi, then the job's note, report, outputs, promotion or drift issue.",
    )
    .addArgument(new Argument("<name>", "the job").choices(JOBS))
    .action((name: JobName) => runJob(name, io));

  ci.command("check")
    .description("Check the component's inputs before Pulumi runs (stack, project folder, backend).")
    .requiredOption("-s, --stack <name>", "stack name")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .option("--backend-url <url>", "Pulumi backend URL (the component passes its backend_url input)")
    .option("--deploy-branch <branch>", "branch this stack deploys from (warns when it is not protected)")
    .action((o: { stack: string; dir: string; backendUrl?: string; deployBranch?: string }) =>
      masked(io, [], (sio) => {
        const { problems, warnings } = checkInputs(
          {
            stack: o.stack,
            dir: path.resolve(io.cwd, o.dir),
            backendUrl: o.backendUrl,
            deployBranch: o.deployBranch,
          },
          io.env,
        );
        for (const w of warnings) sio.err(w);
        if (problems.length) throw new ConfigError(problems, o.stack);
        sio.out(`ok: stack ${o.stack} in ${o.dir}`);
      }),
    );

  ci.command("preview")
    .description(
      "Summarise `pulumi preview --json`: widget report, and the MR note (created once, then edited).",
    )
    .requiredOption("-s, --stack <name>", "stack name")
    .requiredOption("--json <file>", "output of `pulumi preview --json`")
    .option("-C, --dir <path>", "Pulumi project folder (named in the note)", ".")
    .option("--report <file>", "write the reports:terraform JSON here")
    .option("--note", "post or edit the MR note in merge request pipelines")
    .option("--pulumi-status <code>", "exit code of the pulumi preview that wrote --json")
    .option("--expect-no-changes", "that preview ran with --expect-no-changes (changes explain its failure)")
    .option("--token-variable <name>", "CI/CD variable holding the GitLab token", DEFAULT_TOKEN_VARIABLE)
    .action((o: PreviewOptions) => masked(io, [o.tokenVariable], (sio) => previewStep(sio, o)));

  ci.command("outputs")
    .description("Write the stack's non-secret outputs (`pulumi stack output --json`) as a dotenv file.")
    .requiredOption("--json <file>", "output of `pulumi stack output --json`")
    .requiredOption("--dotenv <file>", "dotenv file to write (artifacts:reports:dotenv)")
    .option("--url-output <name>", "stack output holding the environment's URL (written as ENVIRONMENT_URL)")
    .action((o: { json: string; dotenv: string; urlOutput?: string }) =>
      masked(io, [], (sio) => outputsStep(sio, o)),
    );

  ci.command("promote")
    .description(
      "Open, or update, the one merge request promoting the deployed commit to the next environment's branch.",
    )
    .requiredOption("-s, --stack <name>", "the stack the target branch deploys")
    .requiredOption("--from-stack <name>", "the stack this pipeline just deployed")
    .requiredOption("--target-branch <branch>", "the next environment's deploy branch")
    .option("--source-branch <branch>", "deploy branch of --from-stack (default: CI_COMMIT_BRANCH)")
    .option("--sha <commit>", "the commit --from-stack deployed (default: CI_COMMIT_SHA)")
    .option(
      "--promotion-branch <branch>",
      "branch created at that commit, the merge request's source (default: gitlab-eks/promote/<source>-to-<target>)",
    )
    .option(
      "--environment <name>",
      "GitLab environment of --from-stack: promote only while it runs --sha (its last successful deployment)",
    )
    .option(
      "--preview-json <file>",
      "`pulumi preview --json` of the target stack, summarised in the description",
    )
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .option("--token-variable <name>", "CI/CD variable holding the GitLab token", DEFAULT_TOKEN_VARIABLE)
    .action((o: PromoteOptions) => masked(io, [o.tokenVariable], (sio) => promoteStep(sio, o)));

  ci.command("drift")
    .description(
      "After `pulumi preview --refresh --json`: on drift, fail and open or update one issue; without, close it.",
    )
    .requiredOption("-s, --stack <name>", "stack name")
    .requiredOption("--json <file>", "output of `pulumi preview --json` after a refresh")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .option("--label <name>", "label of drift issues", "pulumi-drift")
    .option(
      "--pulumi-status <code>",
      "exit code of the pulumi preview that wrote --json: the issue is closed only after one that succeeded",
    )
    .option("--token-variable <name>", "CI/CD variable holding the GitLab token", DEFAULT_TOKEN_VARIABLE)
    .action((o: DriftOptions) => masked(io, [o.tokenVariable], (sio) => driftStep(sio, o)));
}
