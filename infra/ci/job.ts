/**
 * `gitlab-eks ci job preview|up|promote|drift|destroy`: the whole of a component job after the helper is
 * installed, in one process (the templates hold only the bootstrap that installs the helper, then this
 * call). Step by step:
 *   1. read the job's variables (set by the template from its inputs) and check them with the project
 *      folder and the stack files: every problem at once, before anything runs (exit 1);
 *   2. AWS through GitLab OIDC: the job's ID token becomes a web identity token file (mode 600, never
 *      printed) for the role in aws_role_arn;
 *   3. the install command, in root_dir;
 *   4. `pulumi stack select` (`--create --secrets-provider` when secrets_provider is set);
 *   5. the job's pulumi call, its flags from the job's variables, spawned with an argument array and
 *      streamed to the job log as it runs, masked;
 *   6. the post-processing of that job (steps.ts): MR note and widget report, dotenv outputs, promotion
 *      merge request, drift issue.
 * Exit status: 1 for a problem the helper found (inputs, a failed preview, drift, GitLab), else the
 * status of the program that failed (install command, pulumi), else 0. See docs/ci-wrapper.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, type Problem } from "../config/problems";
import { CliFailure } from "../core/failure";
import { checkInputs } from "./check";
import { configuredTokenVariables, maskingProblems, stepIo, type CiIo, type StepIo } from "./io";
import { pulumiArgs, readJobSettings, stackSelectArgs, type JobName, type JobSettings } from "./settings";
import { runStreaming } from "./spawn";
import { driftStep, outputsStep, previewStep, promoteStep } from "./steps";

/** Where each job keeps pulumi's JSON (the templates' artifacts name these files). */
export const FILES = {
  preview: "pulumi-preview.json",
  report: "pulumi-report.json",
  promotePreview: "pulumi-promote-preview.json",
  drift: "pulumi-drift.json",
  outputs: "pulumi-outputs.json",
  dotenv: "pulumi.env",
  webIdentity: path.join(".gitlab-eks", "web-identity-token"),
} as const;

/** Problems in the job's settings and inputs, all of them; warnings go to the log. */
function checkJob(io: StepIo, s: JobSettings, settingsProblems: Problem[]): void {
  const dir = path.resolve(io.cwd, s.rootDir);
  const problems = [...settingsProblems];
  if (s.stack) {
    const own = checkInputs(
      { stack: s.stack, dir, backendUrl: s.backendUrl, deployBranch: s.deployBranch },
      io.env,
    );
    for (const w of own.warnings) io.err(w);
    problems.push(...own.problems);
  }
  if (s.job === "promote" && s.previewTarget && s.promoteToStack) {
    const target = checkInputs({ stack: s.promoteToStack, dir }, io.env);
    for (const p of target.problems)
      if (p.key === "inputs.stack") problems.push({ ...p, key: "inputs.promote_to_stack" });
      else if (!problems.some((q) => q.key === p.key && q.message === p.message)) problems.push(p);
  }
  if (problems.length) throw new ConfigError(problems, s.stack);
}

/** The environment pulumi and the install command run with: the job's, plus backend, caches and AWS. */
function childEnv(io: StepIo, s: JobSettings): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...io.env,
    PULUMI_BACKEND_URL: s.backendUrl,
    PULUMI_HOME: path.join(io.cwd, ".pulumi-home"),
    npm_config_cache: io.env.npm_config_cache || path.join(io.cwd, ".npm"),
  };
  if (s.awsRoleArn) {
    // The ID token is written to a file only the job's user can read, and never printed.
    const file = path.join(io.cwd, FILES.webIdentity);
    // A file left by an earlier job (a cache, a retry) is removed first: its mode might let others read
    // the new token for a moment before it is tightened.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    fs.writeFileSync(file, io.env.GITLAB_EKS_ID_TOKEN ?? "", { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    env.AWS_ROLE_ARN = s.awsRoleArn;
    env.AWS_WEB_IDENTITY_TOKEN_FILE = file;
    env.AWS_ROLE_SESSION_NAME = `gitlab-${io.env.CI_PROJECT_ID ?? "project"}-${io.env.CI_JOB_ID ?? "job"}`;
    io.out(`AWS: role ${s.awsRoleArn} through the job's OIDC ID token (${FILES.webIdentity}, mode 600).`);
  }
  return env;
}

/** Fails the job with a program's exit status and one line saying what failed. */
function failed(io: StepIo, status: number, line: string): never {
  throw new CliFailure([io.mask(line)], status === 0 ? 1 : status);
}

async function pulumi(
  io: StepIo,
  s: JobSettings,
  env: Record<string, string | undefined>,
  args: string[],
  stdoutFile?: string,
): Promise<number> {
  const full = ["--cwd", s.rootDir, ...args];
  io.out(`$ pulumi ${full.join(" ")}${stdoutFile ? ` > ${stdoutFile}` : ""}`);
  const r = await runStreaming(io, "pulumi", full, {
    cwd: io.cwd,
    env,
    stdoutFile: stdoutFile && path.resolve(io.cwd, stdoutFile),
  });
  if (r.startError)
    failed(
      io,
      r.status,
      `${r.startError}. Fix: use an image with the Pulumi CLI (inputs.image), or put pulumi on PATH.`,
    );
  return r.status;
}

/** `up`, `stack select`: how a message names a pulumi call. */
const commandWords = (args: string[]) => {
  const end = args.findIndex((a) => a.startsWith("-"));
  return (end < 0 ? args : args.slice(0, end)).slice(0, 2).join(" ");
};

/** A pulumi call whose failure ends the job with its status. */
async function pulumiOrFail(
  io: StepIo,
  s: JobSettings,
  env: Record<string, string | undefined>,
  args: string[],
  stdoutFile?: string,
): Promise<void> {
  const status = await pulumi(io, s, env, args, stdoutFile);
  if (status !== 0)
    failed(
      io,
      status,
      `stack ${s.stack}: \`pulumi ${commandWords(args)}\` failed with status ${status} (its output is above).`,
    );
}

export async function runJob(job: JobName, rawIo: CiIo): Promise<void> {
  const { settings, problems } = readJobSettings(job, rawIo.env);
  const dir = path.resolve(rawIo.cwd, settings.rootDir);
  const tokenVariables = settings.stack ? configuredTokenVariables(dir, settings.stack) : [];
  const io = stepIo(rawIo, [settings.tokenVariable, ...tokenVariables]);
  await maskingProblems(io.mask, () => runSteps(io, settings, problems, dir));
}

async function runSteps(io: StepIo, s: JobSettings, problems: Problem[], dir: string): Promise<void> {
  const job = s.job;
  if (job === "promote" && !s.promoteToBranch) {
    io.out("inputs.promote_to_branch is empty (the last environment): nothing to promote.");
    return;
  }
  checkJob(io, s, problems);
  io.out(`ok: stack ${s.stack} in ${s.rootDir}`);
  const env = childEnv(io, s);

  if (s.installCommand.trim() !== "") {
    io.out(`$ (cd ${s.rootDir} && ${s.installCommand})`);
    const r = await runStreaming(io, "/bin/sh", ["-c", s.installCommand], { cwd: dir, env });
    if (r.status !== 0)
      failed(
        io,
        r.status,
        `inputs.install_command: exited with status ${r.status} in ${s.rootDir} (its output is above). Fix: the command, or the project's dependencies.`,
      );
  }
  await pulumiOrFail(io, s, env, stackSelectArgs(s));

  const note = { stack: s.stack, dir: s.rootDir, tokenVariable: s.tokenVariable };
  let status = 0;
  switch (job) {
    case "preview":
      status = await pulumi(io, s, env, pulumiArgs(s), FILES.preview);
      await previewStep(io, {
        ...note,
        json: FILES.preview,
        report: FILES.report,
        note: true,
        pulumiStatus: String(status),
        expectNoChanges: s.expectNoChanges,
      });
      break;
    case "up":
      await pulumiOrFail(io, s, env, pulumiArgs(s));
      await pulumiOrFail(io, s, env, ["stack", "output", "--stack", s.stack, "--json"], FILES.outputs);
      outputsStep(io, { json: FILES.outputs, dotenv: FILES.dotenv, urlOutput: s.urlOutput || undefined });
      break;
    case "destroy":
      await pulumiOrFail(io, s, env, pulumiArgs(s));
      break;
    case "promote":
      // A failed preview still reaches the step, which prints pulumi's errors and opens nothing.
      if (s.previewTarget)
        status = await pulumi(io, s, env, pulumiArgs(s, s.promoteToStack), FILES.promotePreview);
      await promoteStep(io, {
        ...note,
        stack: s.promoteToStack,
        fromStack: s.stack,
        targetBranch: s.promoteToBranch,
        environment: s.environment || undefined,
        previewJson: s.previewTarget ? FILES.promotePreview : undefined,
      });
      break;
    case "drift":
      status = await pulumi(io, s, env, pulumiArgs(s), FILES.drift);
      await driftStep(io, { ...note, json: FILES.drift, label: s.issueLabel, pulumiStatus: String(status) });
      break;
  }
  const previewed = job === "promote" ? s.promoteToStack : s.stack;
  if (status !== 0)
    failed(io, status, `stack ${previewed}: \`pulumi preview\` failed with status ${status} (see above).`);
}
