/**
 * The post-processing steps of the component's jobs, after pulumi ran: the preview's widget report and MR
 * note, the dotenv outputs, the promotion merge request, the drift issue. Each is both a `gitlab-eks ci`
 * subcommand and a step of `gitlab-eks ci job`, which calls it in the same process. Every text a step
 * prints or sends to GitLab goes through the job's mask (io.ts `stepIo`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, Problem } from "../config/problems";
import type { IssueLookup } from "../gitlab/issues";
import {
  api,
  apiProblem,
  checkExitStatus,
  connect,
  fail,
  failedPreviewProblem,
  logDiagnostics,
  noteContext,
  pulumiProjectName,
  project,
  readPreview,
  readPreviewOrNothing,
  refuseFailedPreview,
  writeFile,
  type StepIo,
} from "./io";
import { agentContextLines, outputsToDotenv } from "./outputs";
import {
  countChanges,
  hasChanges,
  previewFailure,
  terraformReport,
  type PreviewDigest,
  type PreviewFailure,
} from "./preview";
import {
  markers,
  renderDriftIssue,
  renderDriftResolved,
  renderPreviewNote,
  renderPromotionMr,
  summaryLine,
} from "./render";

export interface PreviewOptions {
  stack: string;
  json: string;
  dir: string;
  report?: string;
  note?: boolean;
  pulumiStatus?: string;
  expectNoChanges?: boolean;
  tokenVariable: string;
}

/** Posts or edits the preview's MR note in merge request pipelines; a missing token is only a warning. */
async function postPreviewNote(
  io: StepIo,
  o: PreviewOptions,
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
  const body = io.mask(renderPreviewNote(digest, { ...noteContext(io, o.stack, o.dir), warning }));
  try {
    const { upsertMergeRequestNote } = await import("../gitlab/mergeRequestNotes");
    const r = await upsertMergeRequestNote(
      await api(io, c.conn, "Posting the preview note"),
      { project: project(io), mergeRequestIid: iid, tokenVariable: o.tokenVariable },
      markers("preview", o.stack, o.dir, pulumiProjectName(path.resolve(io.cwd, o.dir))),
      body,
      { log: (line) => io.out(line) },
    );
    io.out(`MR note ${r.action} on !${iid} (note ${r.id}).`);
  } catch (e) {
    apiProblem(e);
  }
}

/**
 * The exit statuses of a preview that failed only because `--expect-no-changes` found changes: 7 since the
 * CLI's exit-code taxonomy (ExitNoChanges in pkg/cmd/pulumi/cmd/exit_codes.go; v3.248.0 was seen exiting 7),
 * 255 before it (every error). Any other failure of a whole plan is one Pulumi leaves out of `--json`.
 */
const noChangesExpectedStatuses = new Set(["7", "255"]);

/**
 * Summarises `pulumi preview --json`: widget report, MR note. A failed preview (pulumi's errors, or no
 * preview at all: empty output or `{}`) still gets its widget report and its note: the note is edited in
 * place, so leaving it alone would keep an earlier run's plan on the merge request as if it were this
 * commit's. The note says that the preview failed, with pulumi's errors or a pointer to the job log. Then
 * the step fails (exit 1), so the job fails even if pulumi's own exit status was lost.
 */
export async function previewStep(io: StepIo, o: PreviewOptions): Promise<void> {
  checkExitStatus(o.pulumiStatus);
  const { digest, problem } = readPreviewOrNothing(io, o.json, "--json");
  const failure: PreviewFailure | undefined = problem ? { kind: "not-planned" } : previewFailure(digest);
  const counts = countChanges(digest);
  // Pulumi leaves some failures out of --json (policy violations, for one): a complete plan with a
  // non-zero exit that --expect-no-changes does not explain is shown, but flagged.
  const unexplained =
    !failure &&
    o.pulumiStatus !== undefined &&
    o.pulumiStatus !== "0" &&
    !(o.expectNoChanges && hasChanges(counts) && noChangesExpectedStatuses.has(o.pulumiStatus));
  const warning = unexplained
    ? `\`pulumi preview\` exited with status ${o.pulumiStatus}, though its \`--json\` output is a whole plan: it failed for a reason Pulumi leaves out of that output (a mandatory policy violation, for one). See the job log${io.env.CI_JOB_URL ? ` (${io.env.CI_JOB_URL})` : ""}.`
    : undefined;
  if (!failure) {
    io.out(`stack ${o.stack}: ${summaryLine(counts)}`);
    if (warning) io.err(`warning: ${warning}`);
  } else if (failure.kind === "errors") {
    io.out(`stack ${o.stack}: preview failed; pulumi reported:`);
    logDiagnostics(io, digest);
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
      failedPreviewProblem(failure, { stack: o.stack, file: o.json, option: "--json", digest, problem }),
    ]);
}

/** The stack's non-secret outputs (`pulumi stack output --json`) as a dotenv file. */
export function outputsStep(io: StepIo, o: { json: string; dotenv: string; urlOutput?: string }): void {
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
  for (const line of agentContextLines(outputs)) io.out(line);
}

export interface PromoteOptions {
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
}

/** Opens, or updates, the one merge request promoting the deployed commit to the next environment's branch. */
export async function promoteStep(io: StepIo, o: PromoteOptions): Promise<void> {
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
      consequence: "The promotion merge request was not opened or changed.",
    });
  }
  const c = connect(io, o.tokenVariable, "Opening the promotion merge request");
  if ("why" in c) fail(o.tokenVariable, c.why);
  const mr = renderPromotionMr(
    {
      ...noteContext(io, o.stack, o.dir),
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
      title: io.mask(mr.title),
      description: io.mask(mr.description),
      markers: markers("promote", o.stack, o.dir, pulumiProjectName(path.resolve(io.cwd, o.dir))),
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
}

export interface DriftOptions {
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
  io: StepIo,
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
  const comment = io.mask(renderDriftResolved(digest, noteContext(io, o.stack, o.dir)));
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

/** After `pulumi preview --refresh --json`: on drift, fail and open or update one issue; without, close it. */
export async function driftStep(io: StepIo, o: DriftOptions): Promise<void> {
  checkExitStatus(o.pulumiStatus);
  const digest = readPreview(io, o.json, "--json");
  // Drift is unknown, not absent: the drift issue is left as it is, and the job fails.
  refuseFailedPreview(io, digest, {
    stack: o.stack,
    file: o.json,
    option: "--json",
    consequence: "Drift is unknown, so no drift issue was opened or changed.",
  });
  const counts = countChanges(digest);
  const lookup = {
    marker: markers("drift", o.stack, o.dir, pulumiProjectName(path.resolve(io.cwd, o.dir))),
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
  const issue = renderDriftIssue(digest, noteContext(io, o.stack, o.dir));
  try {
    const { upsertIssue } = await import("../gitlab/issues");
    const r = await upsertIssue(await api(io, c.conn, "Opening the drift issue"), {
      project: project(io),
      ...lookup,
      title: io.mask(issue.title),
      description: io.mask(issue.description),
    });
    io.err(`drift issue #${r.iid} ${r.action}${r.webUrl ? `: ${r.webUrl}` : ""}`);
  } catch (e) {
    apiProblem(e);
  }
  throw new ConfigError(problems);
}
