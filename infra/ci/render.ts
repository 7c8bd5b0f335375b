/**
 * Markdown for the MR note, the drift issue and the promotion MR description. Pure functions: the same
 * input gives the same text, so an unchanged preview leaves the note unchanged. Every body starts with a
 * hidden marker that the helper uses to find its own note, issue or MR again.
 */
import {
  changedSteps,
  changeOf,
  ChangeCounts,
  countChanges,
  describeUrn,
  hasChanges,
  maskSecrets,
  plainMessage,
  previewFailure,
  UNKNOWN_VALUE,
  type PreviewDiagnostic,
  type PreviewDigest,
  type PreviewFailure,
  type PreviewStep,
} from "./preview";
import { maskText } from "./mask";

/** GitLab rejects notes over 1,000,000 characters; stay far below and point at the artifact. */
export const MAX_DIFF_CHARS = 60_000;

export type MarkerKind = "preview" | "drift" | "promote";

/**
 * The hidden marker, one per kind and stack: the Pulumi project's name (when known), the stack and the
 * Pulumi project folder, so neither monorepos nor two projects with a stack of the same name collide.
 */
export function marker(kind: MarkerKind, stack: string, dir = ".", project?: string): string {
  const p = project === undefined ? "" : `project=${encodeURIComponent(project)} `;
  return `<!-- gitlab-eks:${kind} ${p}stack=${encodeURIComponent(stack)} dir=${encodeURIComponent(dir)} -->`;
}

/**
 * The markers that find this stack's note or issue again, the one written now first. Helpers before the
 * project name was in the marker wrote `stack=... dir=...` only: a folder holds one Pulumi project, so
 * that marker, on a note or issue of this GitLab project, is this stack's too, and it is edited (and so
 * takes the new marker) rather than left beside a second one.
 */
export function markers(kind: MarkerKind, stack: string, dir = ".", project?: string): string[] {
  const legacy = marker(kind, stack, dir);
  return project === undefined ? [legacy] : [marker(kind, stack, dir, project), legacy];
}

export function summaryLine(c: ChangeCounts): string {
  if (!hasChanges(c)) return `no changes (${c.same} unchanged)`;
  return `${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete (${c.same} unchanged)`;
}

function summaryTable(c: ChangeCounts): string[] {
  return [
    "| create | update | replace | delete | unchanged |",
    "| ---: | ---: | ---: | ---: | ---: |",
    `| ${c.create} | ${c.update} | ${c.replace} | ${c.delete} | ${c.same} |`,
  ];
}

const SIGN: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-" };

/** Shown where Pulumi does not know a value yet (it prints `output<string>`; Terraform `(known after apply)`). */
const UNKNOWN_SHOWN = "(known after up)";

/**
 * One input value in the diff block: serialized secrets masked structurally, then the text through the
 * one masking function (a token in a plain input, `{"GITLAB_TOKEN":"glpat-…"}`, is still a token), and
 * only then cut, so a cut can never leave part of a token behind.
 */
function show(value: unknown, secrets: readonly string[]): string {
  const text = maskText(
    (JSON.stringify(maskSecrets(value)) ?? "undefined").split(`"${UNKNOWN_VALUE}"`).join(UNKNOWN_SHOWN),
    secrets,
  );
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Input names, without those a provider keeps for itself (the Terraform bridge's `__defaults`). */
const shownKeys = (inputs: Record<string, unknown>) =>
  Object.keys(inputs)
    .filter((k) => !k.startsWith("__"))
    .sort();

/** The lines of one resource in the diff block. */
export function stepLines(step: PreviewStep, secrets: readonly string[] = []): string[] {
  const change = changeOf(step.op) ?? step.op;
  const sign = SIGN[change] ?? " ";
  const { type, name } = describeUrn(step.urn);
  const lines = [`${sign} ${type} ${name} (${change})`];
  const pad = `${sign.padEnd(2)}    `;
  const oldIn = step.oldState?.inputs ?? {};
  const newIn = step.newState?.inputs ?? {};
  if (change === "create") {
    for (const key of shownKeys(newIn)) lines.push(`${pad}${key}: ${show(newIn[key], secrets)}`);
  } else if (change === "delete") {
    for (const key of shownKeys(oldIn)) lines.push(`${pad}${key}: ${show(oldIn[key], secrets)}`);
  } else {
    const keys = new Set<string>([...(step.diffReasons ?? []), ...(step.replaceReasons ?? [])]);
    for (const k of Object.keys(step.detailedDiff ?? {})) keys.add(k.split(/[.[]/)[0]);
    // Dynamic providers' steps carry neither diffReasons nor a detailedDiff (the real CLI's captures):
    // then the changed inputs are the ones whose old and new values differ.
    if (keys.size === 0)
      for (const key of new Set([...shownKeys(oldIn), ...shownKeys(newIn)]))
        if (JSON.stringify(oldIn[key]) !== JSON.stringify(newIn[key])) keys.add(key);
    const replaceKeys = new Set(step.replaceReasons ?? []);
    for (const key of [...keys].sort()) {
      const forces = replaceKeys.has(key) ? " (forces replacement)" : "";
      lines.push(`${pad}${key}: ${show(oldIn[key], secrets)} => ${show(newIn[key], secrets)}${forces}`);
    }
  }
  return lines;
}

/** A fenced ```diff block can hold anything except a line of three backticks; break such runs. */
function fenceSafe(line: string): string {
  return line.replace(/`{3,}/g, (m) => m.split("").join("\u200b"));
}

function diffSection(digest: PreviewDigest, artifactHint: string, secrets: readonly string[] = []): string[] {
  const steps = changedSteps(digest);
  if (steps.length === 0) return [];
  const body: string[] = [];
  let size = 0;
  let shown = 0;
  for (const step of steps) {
    const lines = stepLines(step, secrets).map(fenceSafe);
    const chunk = lines.join("\n").length + 1;
    if (size + chunk > MAX_DIFF_CHARS) break;
    body.push(...lines);
    size += chunk;
    shown++;
  }
  const out = [
    "",
    `<details><summary>Per-resource diff (${steps.length} resource${steps.length === 1 ? "" : "s"})</summary>`,
    "",
    "```diff",
    ...body,
    "```",
  ];
  if (shown < steps.length)
    out.push("", `${steps.length - shown} more resource(s) not shown here: ${artifactHint}.`);
  out.push("", "</details>");
  return out;
}

function diagnosticsSection(digest: PreviewDigest, secrets: readonly string[] = []): string[] {
  const important = (digest.diagnostics ?? []).filter(
    (d) => d.severity === "error" || d.severity === "warning",
  );
  if (important.length === 0) return [];
  return [
    "",
    "**Diagnostics**",
    "",
    ...important.map(
      (d) =>
        `- ${labelled(d.severity, plainMessage(d.message, secrets).trim().split("\n")[0].replace(/[<>]/g, ""))}`,
    ),
  ];
}

/**
 * A merged-results (or merge train) pipeline runs on a temporary merge commit of the source and target
 * branches (CI_COMMIT_SHA); GitLab names the two heads it merged in CI_MERGE_REQUEST_SOURCE_BRANCH_SHA
 * and CI_MERGE_REQUEST_TARGET_BRANCH_SHA.
 */
export interface MergedResult {
  sourceSha: string;
  targetSha?: string;
  targetBranch?: string;
}

export interface NoteContext {
  stack: string;
  dir?: string;
  /** The Pulumi project's name (Pulumi.yaml), in the marker. */
  project?: string;
  commitSha?: string;
  /** Set in merged-results pipelines: the footer names the merged heads, not the merge commit. */
  mergedResult?: MergedResult;
  jobUrl?: string;
  pipelineUrl?: string;
  /** Values the job holds that must never appear (tokens); masked in diagnostics. */
  secrets?: readonly string[];
  /** Shown under the summary: something about this run the plan alone does not say. */
  warning?: string;
}

/** " in `dir`" for a project outside the repository root, else "". */
const inDir = (ctx: NoteContext): string => (ctx.dir && ctx.dir !== "." ? ` in \`${ctx.dir}\`` : "");

/** How the log and the note name a diagnostic's severity ("info#err" is the program's stderr). */
export function severityLabel(severity: string): string {
  return severity === "info#err" ? "program stderr" : severity;
}

/**
 * A diagnostic's first line with our `<severity>: ` label in front. The real CLI (v3.248.0) already starts
 * error and warning messages with `error: ` / `warning: ` in `--json` output: not repeated.
 */
function labelled(severity: string, first: string): string {
  const label = severityLabel(severity);
  return first.startsWith(`${label}: `) ? first : `${label}: ${first}`;
}

const MESSAGE_LINES = 60;
const LINE_CHARS = 2_000;
const MESSAGES_CHARS = 20_000;

/**
 * Diagnostics as plain text, one block each: `severity: first line`, then the rest of the message. ANSI
 * escapes are stripped and secrets masked. With `cut` (for notes), a long message keeps its first lines
 * and many messages their first 20,000 characters; the job log gets them whole.
 */
export function diagnosticLines(
  diagnostics: PreviewDiagnostic[],
  secrets: readonly string[] = [],
  cut = true,
): string[] {
  const out: string[] = [];
  let size = 0;
  for (const [i, d] of diagnostics.entries()) {
    let lines = plainMessage(d.message, secrets).replace(/\s+$/, "").split("\n");
    if (cut) {
      const all = lines.length;
      lines = lines
        .slice(0, MESSAGE_LINES)
        .map((l) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l));
      if (all > lines.length) lines.push(`… ${all - lines.length} more line(s) in the job log`);
    }
    const block = [labelled(d.severity, lines[0] ?? ""), ...lines.slice(1)];
    size += block.join("\n").length + 1;
    if (cut && size > MESSAGES_CHARS && out.length > 0) {
      out.push(`… ${diagnostics.length - i} more message(s) in the job log`);
      break;
    }
    out.push(...block);
  }
  return out;
}

function textBlock(lines: string[]): string[] {
  return ["```text", ...lines.map(fenceSafe), "```"];
}

/**
 * The note of a preview that has no plan. It replaces the note of an earlier run: left alone, that note
 * would keep showing an old plan as if it were this commit's.
 */
function renderFailedPreviewNote(digest: PreviewDigest, failure: PreviewFailure, ctx: NoteContext): string {
  const where = inDir(ctx);
  const log = ctx.jobUrl ? `the [job log](${ctx.jobUrl})` : "the job log";
  const secrets = ctx.secrets ?? [];
  const others = (digest.diagnostics ?? []).filter(
    (d) => d.severity === "warning" || d.severity === "info#err",
  );
  const lines = [marker("preview", ctx.stack, ctx.dir, ctx.project)];
  if (failure.kind === "errors") {
    const n = failure.errors.length;
    lines.push(
      `#### Pulumi preview for stack \`${ctx.stack}\`${where} failed: ${n} error${n === 1 ? "" : "s"}`,
      "",
      `Pulumi stopped with the error${n === 1 ? "" : "s"} below, so there is no plan to review and the job failed. Fix ${n === 1 ? "it" : "them"} and run the pipeline again; this note then shows the plan.`,
      "",
      ...textBlock(diagnosticLines(failure.errors, secrets)),
    );
  } else {
    lines.push(
      `#### Pulumi preview for stack \`${ctx.stack}\`${where} failed before planning`,
      "",
      `\`pulumi preview\` printed no plan: it stopped before planning (for example the stack is missing, the backend or its credentials failed, or the configuration is invalid), so the job failed. Pulumi's own error is in ${log}.`,
    );
  }
  if (others.length > 0)
    lines.push(
      "",
      `<details><summary>Other messages: warnings and the program's stderr (${others.length})</summary>`,
      "",
      ...textBlock(diagnosticLines(others, secrets)),
      "",
      "</details>",
    );
  lines.push(...footer(ctx), "");
  return lines.join("\n");
}

const short = (sha: string) => `\`${sha.slice(0, 8)}\``;

function footer(ctx: NoteContext): string[] {
  const parts: string[] = [];
  const m = ctx.mergedResult;
  if (m) {
    // The merge commit itself is internal to GitLab (refs/merge-requests/:iid/merge, rewritten as the
    // branches move): name what a reviewer can find, the source commit and the target branch's head.
    const into = m.targetBranch ? ` into \`${m.targetBranch}\`` : " into the target branch";
    parts.push(
      `merged result of ${short(m.sourceSha)}${into}${m.targetSha ? ` at ${short(m.targetSha)}` : ""}`,
    );
  } else if (ctx.commitSha) parts.push(`commit ${short(ctx.commitSha)}`);
  if (ctx.jobUrl) parts.push(`[job log](${ctx.jobUrl})`);
  if (ctx.pipelineUrl) parts.push(`[pipeline](${ctx.pipelineUrl})`);
  return parts.length ? ["", `<sub>${parts.join(" · ")} · posted by gitlab-eks</sub>`] : [];
}

const ARTIFACT_HINT = "the full preview is kept as the job's artifact (`pulumi-preview.json`)";

/**
 * The MR note for one stack: marker, summary first, then the collapsible per-resource diff. A preview
 * without a plan (errors, or no steps) gets a note saying it failed and why, under the same marker.
 */
export function renderPreviewNote(digest: PreviewDigest, ctx: NoteContext): string {
  const failure = previewFailure(digest);
  if (failure) return renderFailedPreviewNote(digest, failure, ctx);
  const counts = countChanges(digest);
  const where = inDir(ctx);
  return [
    marker("preview", ctx.stack, ctx.dir, ctx.project),
    `#### Pulumi preview for stack \`${ctx.stack}\`${where}: ${summaryLine(counts)}`,
    "",
    ...summaryTable(counts),
    ...(ctx.warning ? ["", `> **Warning:** ${ctx.warning}`] : []),
    ...(digest.maybeCorrupt ? ["", "**Pulumi reports that one or more resources may be corrupt.**"] : []),
    ...diagnosticsSection(digest, ctx.secrets),
    ...diffSection(digest, ARTIFACT_HINT, ctx.secrets),
    ...footer(ctx),
    "",
  ].join("\n");
}

export function renderDriftIssue(
  digest: PreviewDigest,
  ctx: NoteContext,
): { title: string; description: string } {
  const counts = countChanges(digest);
  return {
    title: `Drift detected in Pulumi stack ${ctx.stack}${ctx.dir && ctx.dir !== "." ? ` (${ctx.dir})` : ""}`,
    description: [
      marker("drift", ctx.stack, ctx.dir, ctx.project),
      `The scheduled refresh and preview of stack \`${ctx.stack}\` found that the infrastructure no longer matches the code: ${summaryLine(counts)}.`,
      "",
      "Either run the stack's `up` job to put the infrastructure back as the code says, or change the code to accept what changed. This issue is updated by each scheduled run while the drift lasts, and closed by the first one that finds none.",
      "",
      ...summaryTable(counts),
      ...diagnosticsSection(digest, ctx.secrets),
      ...diffSection(digest, ARTIFACT_HINT, ctx.secrets),
      ...footer(ctx),
      "",
    ].join("\n"),
  };
}

/** The comment left on the drift issue when a later scheduled run finds no drift, and closes it. */
export function renderDriftResolved(digest: PreviewDigest, ctx: NoteContext): string {
  const counts = countChanges(digest);
  return [
    `The scheduled refresh and preview of stack \`${ctx.stack}\` found no drift: ${summaryLine(counts)}. The infrastructure matches the code again, so this issue is closed. If the stack drifts again, the next scheduled run opens a new issue.`,
    ...footer(ctx),
    "",
  ].join("\n");
}

export interface PromotionContext extends NoteContext {
  sourceBranch: string;
  targetBranch: string;
  fromStack: string;
}

export function renderPromotionMr(
  ctx: PromotionContext,
  targetPreview?: PreviewDigest,
): { title: string; description: string } {
  const lines = [
    marker("promote", ctx.stack, ctx.dir, ctx.project),
    `Promotes ${ctx.commitSha ? `commit \`${ctx.commitSha.slice(0, 8)}\`` : "the commit"}, which stack \`${ctx.fromStack}\` runs (deployed from \`${ctx.sourceBranch}\`), to \`${ctx.targetBranch}\`. Merging this merge request deploys it to stack \`${ctx.stack}\`.`,
    "",
    `The \`up\` job of stack \`${ctx.fromStack}\` succeeded for exactly this commit; its source branch was created at it. Each later successful \`up\` moves this merge request to the newly deployed commit and updates this description; there is never more than one open promotion merge request from \`${ctx.sourceBranch}\` to \`${ctx.targetBranch}\`.`,
  ];
  if (targetPreview) {
    const counts = countChanges(targetPreview);
    lines.push(
      "",
      `#### Preview of stack \`${ctx.stack}\`: ${summaryLine(counts)}`,
      "",
      ...summaryTable(counts),
      ...diffSection(targetPreview, "see the promote job's artifact", ctx.secrets),
    );
  } else {
    lines.push(
      "",
      "No preview of the target stack was run by the promote job; the merge request pipeline previews it.",
    );
  }
  // The pipeline, not the job: a retried promote job of the same pipeline leaves the description as it is.
  lines.push(...footer({ ...ctx, jobUrl: undefined }), "");
  return {
    title: `Promote ${ctx.sourceBranch} to ${ctx.targetBranch} (stack ${ctx.stack})`,
    description: lines.join("\n"),
  };
}
