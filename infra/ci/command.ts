/**
 * `gitlab-eks ci ...`: what the CI/CD component's jobs run around Pulumi. Each subcommand reads files
 * Pulumi wrote and the job's predefined variables, and talks to GitLab only through infra/gitlab.
 * Failures are reported as problems (the input or variable to change, and how), exit code 1.
 */
import type { Command } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, Problem } from "../config/problems";
import { GitlabTokenError, readToken, resolveConnection, type GitlabConnection } from "../gitlab/connection";
import type { IssueLookup } from "../gitlab/issues";
import { checkInputs } from "./check";
import {
  countChanges,
  hasChanges,
  NoPreviewError,
  notPlannedMessage,
  parsePreview,
  previewFailure,
  PreviewFormatError,
  terraformReport,
  type PreviewDigest,
  type PreviewFailure,
} from "./preview";
import {
  diagnosticLines,
  marker,
  renderDriftIssue,
  renderDriftResolved,
  renderPreviewNote,
  renderPromotionMr,
  summaryLine,
  type MergedResult,
  type NoteContext,
} from "./render";
import { outputsToDotenv } from "./outputs";

interface CiIo {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

const DEFAULT_TOKEN_VARIABLE = "GITLAB_EKS_TOKEN";

function fail(key: string, message: string): never {
  throw new ConfigError([{ key, message }]);
}

function readPreviewText(io: CiIo, file: string, option: string): string {
  try {
    return fs.readFileSync(path.resolve(io.cwd, file), "utf8");
  } catch {
    fail(
      option,
      `cannot read ${file}. It should hold the output of \`pulumi preview --json\`; did pulumi run?`,
    );
  }
}

function readPreview(io: CiIo, file: string, option: string): PreviewDigest {
  const text = readPreviewText(io, file, option);
  try {
    return parsePreview(text, file);
  } catch (e) {
    if (e instanceof PreviewFormatError) fail(option, e.message);
    throw e;
  }
}

/**
 * Like readPreview, but output that holds no preview at all (empty, not JSON) is returned as the empty
 * digest with the problem to report, so the caller can still say in the note that the preview failed.
 */
function readPreviewOrNothing(
  io: CiIo,
  file: string,
  option: string,
): { digest: PreviewDigest; problem?: string } {
  const text = readPreviewText(io, file, option);
  try {
    return { digest: parsePreview(text, file) };
  } catch (e) {
    if (e instanceof NoPreviewError) return { digest: {}, problem: e.message };
    if (e instanceof PreviewFormatError) fail(option, e.message);
    throw e;
  }
}

/** Values of the job's variables that hold secrets; masked wherever pulumi's messages are shown. */
function knownSecrets(io: CiIo, tokenVariable: string): string[] {
  const names = [
    tokenVariable,
    "CI_JOB_TOKEN",
    "GITLAB_EKS_ID_TOKEN",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V2",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
  ];
  return names.map((n) => io.env[n] ?? "").filter((v) => v.length >= 8);
}

/** Prints what pulumi reported (errors, warnings, the program's stderr) to the job log, plain and masked. */
function logDiagnostics(io: CiIo, digest: PreviewDigest, secrets: string[]): void {
  const shown = (digest.diagnostics ?? []).filter((d) =>
    ["error", "warning", "info#err"].includes(d.severity),
  );
  for (const line of diagnosticLines(shown, secrets, false)) io.err(line);
}

/**
 * The problem a failed preview is reported as, after its note and report are written. `consequence` is a
 * sentence on what the command did not do because of it, put before the fix.
 */
function failedPreviewProblem(
  failure: PreviewFailure,
  what: { stack: string; file: string; option: string; digest: PreviewDigest; problem?: string },
  consequence = "",
): Problem {
  const then = consequence ? ` ${consequence}` : "";
  if (failure.kind === "not-planned") {
    const message = what.problem ?? notPlannedMessage(what.file, what.digest);
    const at = message.indexOf(" Fix: ");
    return {
      key: what.option,
      message: at < 0 ? `${message}${then}` : `${message.slice(0, at)}${then}${message.slice(at)}`,
    };
  }
  const n = failure.errors.length;
  return {
    key: `stack ${what.stack}`,
    message: `pulumi preview failed with ${n} error${n === 1 ? "" : "s"} (above).${then} Fix: correct what ${n === 1 ? "it says" : "they say"} (the program, or the stack's configuration), then run the job again.`,
  };
}

/** Stops with pulumi's errors in the log when the preview has no plan; `consequence` says what was not done. */
function refuseFailedPreview(
  io: CiIo,
  digest: PreviewDigest,
  what: { stack: string; file: string; option: string; tokenVariable: string; consequence: string },
): void {
  const failure = previewFailure(digest);
  if (!failure) return;
  logDiagnostics(io, digest, knownSecrets(io, what.tokenVariable));
  throw new ConfigError([failedPreviewProblem(failure, { ...what, digest }, what.consequence)]);
}

/** `--pulumi-status`, when given, is an exit code. */
function checkExitStatus(status: string | undefined): void {
  if (status !== undefined && !/^\d+$/.test(status))
    fail("--pulumi-status", `is "${status}": give the exit code of pulumi preview, e.g. "$?".`);
}

function writeFile(io: CiIo, file: string, content: string): void {
  const full = path.resolve(io.cwd, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, content);
}

/** Merged-results and merge train pipelines run on a merge commit: the heads GitLab merged, if named. */
function mergedResult(io: CiIo): MergedResult | undefined {
  const type = io.env.CI_MERGE_REQUEST_EVENT_TYPE;
  const sourceSha = io.env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA;
  if ((type !== "merged_result" && type !== "merge_train") || !sourceSha) return undefined;
  return {
    sourceSha,
    targetSha: io.env.CI_MERGE_REQUEST_TARGET_BRANCH_SHA || undefined,
    targetBranch: io.env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME || undefined,
  };
}

function noteContext(io: CiIo, stack: string, dir: string, tokenVariable: string): NoteContext {
  return {
    stack,
    dir,
    commitSha: io.env.CI_COMMIT_SHA,
    mergedResult: mergedResult(io),
    jobUrl: io.env.CI_JOB_URL,
    pipelineUrl: io.env.CI_PIPELINE_URL,
    secrets: knownSecrets(io, tokenVariable),
  };
}

function project(io: CiIo): string {
  const p = io.env.CI_PROJECT_ID ?? io.env.CI_PROJECT_PATH;
  if (!p) fail("CI_PROJECT_ID", "not set: `gitlab-eks ci` talks to GitLab only from inside a GitLab CI job.");
  return p;
}

/** The connection, or the reason there is none (no token): callers decide whether that is fatal. */
function connect(
  io: CiIo,
  tokenVariable: string,
  purpose: string,
): { conn: GitlabConnection } | { why: string } {
  const conn = resolveConnection({ tokenVariable }, io.env);
  try {
    readToken(conn, io.env, purpose);
    return { conn };
  } catch (e) {
    if (e instanceof GitlabTokenError) return { why: e.message };
    throw e;
  }
}

/** gitbeaker costs ~150 ms to load; only jobs that talk to GitLab pay for it. */
async function api(io: CiIo, conn: GitlabConnection, purpose: string) {
  const { gitlabClient } = await import("../gitlab/client");
  return gitlabClient(conn, { env: io.env, purpose });
}

function apiProblem(e: unknown): never {
  // Compared by name: importing errors.ts would load gitbeaker on every CLI start.
  if (e instanceof Error && e.name === "GitlabApiError") fail("GitLab API", e.message);
  throw e;
}

interface DriftOptions {
  stack: string;
  json: string;
  dir: string;
  label: string;
  pulumiStatus?: string;
  tokenVariable: string;
}

/**
 * No drift: close the open drift issue of this stack, if there is one, with one comment. A preview that
 * failed (exit code, error diagnostics) may list no changes only because it stopped early, so it closes
 * nothing. Without a token the job still succeeds: nothing is checked, and the log says why.
 */
async function closeDriftIssue(
  io: CiIo,
  o: DriftOptions,
  digest: PreviewDigest,
  lookup: Omit<IssueLookup, "project">,
): Promise<void> {
  const counts = countChanges(digest);
  // Error diagnostics and a preview without steps were refused already (refuseFailedPreview).
  if (o.pulumiStatus !== undefined && o.pulumiStatus !== "0") {
    io.err(
      `stack ${o.stack}: the preview lists no changes, but pulumi exited with ${o.pulumiStatus} (see the log above and ${o.json}): drift is not ruled out, so no drift issue was closed.`,
    );
    return;
  }
  io.out(`stack ${o.stack}: no drift (${counts.same} resources unchanged).`);
  const c = connect(io, o.tokenVariable, "Closing the drift issue");
  if ("why" in c) {
    io.err(`no drift issue checked, so an open one stays open. ${c.why}`);
    return;
  }
  const comment = renderDriftResolved(digest, noteContext(io, o.stack, o.dir, o.tokenVariable));
  try {
    const { closeIssue } = await import("../gitlab/issues");
    const r = await closeIssue(
      await api(io, c.conn, "Closing the drift issue"),
      { ...lookup, project: project(io) },
      comment,
    );
    io.out(
      r.action === "closed"
        ? `drift issue #${r.iid} closed${r.webUrl ? `: ${r.webUrl}` : ""}`
        : `no open drift issue for stack ${o.stack}: nothing to close.`,
    );
  } catch (e) {
    apiProblem(e);
  }
}

/** Posts or edits the preview's MR note in merge request pipelines; a missing token is only a warning. */
async function postPreviewNote(
  io: CiIo,
  o: { stack: string; dir: string; tokenVariable: string },
  digest: PreviewDigest,
  failure: PreviewFailure | undefined,
  warning?: string,
): Promise<void> {
  const iid = Number(io.env.CI_MERGE_REQUEST_IID);
  if (!io.env.CI_MERGE_REQUEST_IID || !Number.isInteger(iid)) {
    io.out("not a merge request pipeline: no MR note to post.");
    return;
  }
  const c = connect(io, o.tokenVariable, "Posting the preview as a merge request note");
  if ("why" in c) {
    const outcome = failure ? "the preview failed, see above" : "the preview itself succeeded";
    io.err(`warning: no MR note posted (${outcome}). ${c.why}`);
    return;
  }
  const body = renderPreviewNote(digest, { ...noteContext(io, o.stack, o.dir, o.tokenVariable), warning });
  try {
    const { upsertMergeRequestNote } = await import("../gitlab/mergeRequestNotes");
    const r = await upsertMergeRequestNote(
      await api(io, c.conn, "Posting the preview note"),
      { project: project(io), mergeRequestIid: iid, tokenVariable: o.tokenVariable },
      marker("preview", o.stack, o.dir),
      body,
      { log: (line) => io.out(line) },
    );
    io.out(`MR note ${r.action} on !${iid} (note ${r.id}).`);
  } catch (e) {
    apiProblem(e);
  }
}

export function registerCiCommands(program: Command, io: CiIo): void {
  const ci = program
    .command("ci")
    .description("Steps of the GitLab CI/CD component: checks, MR notes, widget report, promotion, drift.");

  ci.command("check")
    .description("Check the component's inputs before Pulumi runs (stack, project folder, backend).")
    .requiredOption("-s, --stack <name>", "stack name")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .option("--backend-url <url>", "Pulumi backend URL (the component passes its backend_url input)")
    .option("--deploy-branch <branch>", "branch this stack deploys from (warns when it is not protected)")
    .action((o: { stack: string; dir: string; backendUrl?: string; deployBranch?: string }) => {
      const { problems, warnings } = checkInputs(
        {
          stack: o.stack,
          dir: path.resolve(io.cwd, o.dir),
          backendUrl: o.backendUrl,
          deployBranch: o.deployBranch,
        },
        io.env,
      );
      for (const w of warnings) io.err(w);
      if (problems.length) throw new ConfigError(problems, o.stack);
      io.out(`ok: stack ${o.stack} in ${o.dir}`);
    });

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
    .action(
      async (o: {
        stack: string;
        json: string;
        dir: string;
        report?: string;
        note?: boolean;
        pulumiStatus?: string;
        expectNoChanges?: boolean;
        tokenVariable: string;
      }) => {
        checkExitStatus(o.pulumiStatus);
        // A failed preview (pulumi's errors, or no preview at all: empty output or `{}`) still gets its
        // widget report and its note: the note is edited in place, so leaving it alone would keep an
        // earlier run's plan on the merge request as if it were this commit's. The note says that the
        // preview failed, with pulumi's errors or a pointer to the job log. Then the command fails (exit
        // 1), so the job fails even if pulumi's own exit status was lost.
        const { digest, problem } = readPreviewOrNothing(io, o.json, "--json");
        const failure: PreviewFailure | undefined = problem
          ? { kind: "not-planned" }
          : previewFailure(digest);
        const secrets = knownSecrets(io, o.tokenVariable);
        const counts = countChanges(digest);
        // Pulumi leaves some failures out of --json (policy violations, for one): a complete plan with a
        // non-zero exit that --expect-no-changes does not explain is shown, but flagged.
        const unexplained =
          !failure &&
          o.pulumiStatus !== undefined &&
          o.pulumiStatus !== "0" &&
          !(o.expectNoChanges && hasChanges(counts));
        const warning = unexplained
          ? `\`pulumi preview\` exited with status ${o.pulumiStatus}, though its \`--json\` output is a whole plan: it failed for a reason Pulumi leaves out of that output (a mandatory policy violation, for one). See the job log${io.env.CI_JOB_URL ? ` (${io.env.CI_JOB_URL})` : ""}.`
          : undefined;
        if (!failure) {
          io.out(`stack ${o.stack}: ${summaryLine(counts)}`);
          if (warning) io.err(`warning: ${warning}`);
        } else if (failure.kind === "errors") {
          io.out(`stack ${o.stack}: preview failed; pulumi reported:`);
          logDiagnostics(io, digest, secrets);
        } else io.out(`stack ${o.stack}: preview failed before planning: pulumi printed no preview.`);
        if (o.report) {
          // GitLab's widget shows "failed to generate a report" (with a link to the job) for a report
          // without the create/update/delete counts: the truth for a preview without a plan.
          const report = failure
            ? { error: "pulumi preview failed: no plan. See the job log." }
            : terraformReport(counts);
          writeFile(io, o.report, `${JSON.stringify(report)}\n`);
          io.out(
            `merge request widget report: ${o.report}${failure ? " (marks this job's report as failed)" : ""}`,
          );
        }
        if (o.note) await postPreviewNote(io, o, digest, failure, warning);
        if (failure)
          throw new ConfigError([
            failedPreviewProblem(failure, {
              stack: o.stack,
              file: o.json,
              option: "--json",
              digest,
              problem,
            }),
          ]);
      },
    );

  ci.command("outputs")
    .description("Write the stack's non-secret outputs (`pulumi stack output --json`) as a dotenv file.")
    .requiredOption("--json <file>", "output of `pulumi stack output --json`")
    .requiredOption("--dotenv <file>", "dotenv file to write (artifacts:reports:dotenv)")
    .option("--url-output <name>", "stack output holding the environment's URL (written as ENVIRONMENT_URL)")
    .action((o: { json: string; dotenv: string; urlOutput?: string }) => {
      let outputs: unknown;
      try {
        outputs = JSON.parse(fs.readFileSync(path.resolve(io.cwd, o.json), "utf8"));
      } catch {
        fail("--json", `cannot read ${o.json} as the JSON output of \`pulumi stack output --json\`.`);
      }
      const r = outputsToDotenv(outputs, o.urlOutput);
      for (const p of r.problems) fail(p.key, p.message);
      writeFile(io, o.dotenv, r.text);
      io.out(
        `${o.dotenv}: ${r.written.length} output(s) (${r.written.join(", ") || "none"}); ${r.skipped.length} secret or multi-line output(s) left out.`,
      );
    });

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
    .action(
      async (o: {
        stack: string;
        fromStack: string;
        environment?: string;
        targetBranch: string;
        sourceBranch?: string;
        sha?: string;
        promotionBranch?: string;
        previewJson?: string;
        dir: string;
        tokenVariable: string;
      }) => {
        const problems: Problem[] = [];
        const sourceBranch = o.sourceBranch ?? io.env.CI_COMMIT_BRANCH;
        if (!sourceBranch)
          problems.push({
            key: "--source-branch",
            message: "not given and CI_COMMIT_BRANCH is not set: promotion runs in branch pipelines.",
          });
        else if (sourceBranch === o.targetBranch)
          problems.push({
            key: "inputs.promote_to_branch",
            message: `is ${o.targetBranch}, the branch being promoted: set the next environment's branch.`,
          });
        const sha = o.sha ?? io.env.CI_COMMIT_SHA;
        if (!sha || !/^[0-9a-f]{40}$/.test(sha))
          problems.push({
            key: o.sha ? "--sha" : "CI_COMMIT_SHA",
            message: `${sha ? `is "${sha}", not` : "is not set: it must be"} the full 40-character commit SHA that was deployed.`,
          });
        const promotionBranch =
          o.promotionBranch ?? `gitlab-eks/promote/${sourceBranch ?? ""}-to-${o.targetBranch}`;
        if ([sourceBranch, o.targetBranch].includes(promotionBranch))
          problems.push({
            key: "--promotion-branch",
            message: `is ${promotionBranch}, a deploy branch: it is deleted and re-created at each promotion.`,
          });
        if (problems.length) throw new ConfigError(problems);
        const deployed = sha as string;
        let preview: PreviewDigest | undefined;
        if (o.previewJson) {
          preview = readPreview(io, o.previewJson, "--preview-json");
          refuseFailedPreview(io, preview, {
            stack: o.stack,
            file: o.previewJson,
            option: "--preview-json",
            tokenVariable: o.tokenVariable,
            consequence: "The promotion merge request was not opened or changed.",
          });
        }
        const c = connect(io, o.tokenVariable, "Opening the promotion merge request");
        if ("why" in c) fail(o.tokenVariable, c.why);
        const mr = renderPromotionMr(
          {
            ...noteContext(io, o.stack, o.dir, o.tokenVariable),
            commitSha: deployed,
            sourceBranch: sourceBranch!,
            targetBranch: o.targetBranch,
            fromStack: o.fromStack,
          },
          preview,
        );
        try {
          const { promoteCommit } = await import("../gitlab/promotion");
          const r = await promoteCommit(await api(io, c.conn, "Opening the promotion merge request"), {
            project: project(io),
            sha: deployed,
            promotionBranch,
            targetBranch: o.targetBranch,
            title: mr.title,
            description: mr.description,
            environment: o.environment,
            tokenVariable: o.tokenVariable,
          });
          const short = deployed.slice(0, 8);
          if (r.action === "not-running")
            io.out(
              `nothing promoted: environment ${o.environment} now runs commit ${r.running.slice(0, 8)} (its last successful deployment), not this pipeline's ${short}; the pipeline that deployed ${r.running.slice(0, 8)} promotes it.`,
            );
          else if (r.action === "already-promoted")
            io.out(`nothing to promote: ${o.targetBranch} already contains ${short}.`);
          else {
            if (r.unknownEnvironment)
              io.err(
                `warning: GitLab has no environment "${o.environment}" (inputs.environment): promoted without checking what it runs.`,
              );
            io.out(
              `promotion merge request !${r.iid} ${r.action}: ${sourceBranch}@${short} -> ${o.targetBranch} (branch ${promotionBranch}${r.moved ? ", moved to this commit" : ""})${r.webUrl ? ` ${r.webUrl}` : ""}`,
            );
          }
        } catch (e) {
          apiProblem(e);
        }
      },
    );

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
    .action(async (o: DriftOptions) => {
      checkExitStatus(o.pulumiStatus);
      const digest = readPreview(io, o.json, "--json");
      // Drift is unknown, not absent: the drift issue is left as it is, and the job fails.
      refuseFailedPreview(io, digest, {
        stack: o.stack,
        file: o.json,
        option: "--json",
        tokenVariable: o.tokenVariable,
        consequence: "Drift is unknown, so no drift issue was opened or changed.",
      });
      const counts = countChanges(digest);
      const lookup = {
        marker: marker("drift", o.stack, o.dir),
        labels: [o.label],
        tokenVariable: o.tokenVariable,
      };
      if (!hasChanges(counts)) {
        await closeDriftIssue(io, o, digest, lookup);
        return;
      }
      io.err(`stack ${o.stack}: drift: ${summaryLine(counts)}`);
      const problems: Problem[] = [
        {
          key: `stack ${o.stack}`,
          message: `drifted from the code (${summaryLine(counts)}). Run its up job, or change the code.`,
        },
      ];
      const c = connect(io, o.tokenVariable, "Opening the drift issue");
      if ("why" in c) {
        io.err(`warning: no drift issue opened. ${c.why}`);
        throw new ConfigError(problems);
      }
      const issue = renderDriftIssue(digest, noteContext(io, o.stack, o.dir, o.tokenVariable));
      try {
        const { upsertIssue } = await import("../gitlab/issues");
        const r = await upsertIssue(await api(io, c.conn, "Opening the drift issue"), {
          project: project(io),
          ...lookup,
          title: issue.title,
          description: issue.description,
        });
        io.err(`drift issue #${r.iid} ${r.action}${r.webUrl ? `: ${r.webUrl}` : ""}`);
      } catch (e) {
        apiProblem(e);
      }
      throw new ConfigError(problems);
    });
}
