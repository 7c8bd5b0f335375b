/**
 * What the steps of `gitlab-eks ci` share: the job log (masked), the job's variables, reading Pulumi's
 * files, the note context, and the connection to GitLab. Failures are problems (the input or variable to
 * change, and how), reported by the CLI with exit status 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError, Problem } from "../config/problems";
import { GitlabTokenError, readToken, resolveConnection, type GitlabConnection } from "../gitlab/connection";
import { jobSecrets, masker, type Mask } from "./mask";
import {
  NoPreviewError,
  notPlannedMessage,
  parsePreview,
  previewFailure,
  PreviewFormatError,
  type PreviewDigest,
  type PreviewFailure,
} from "./preview";
import { diagnosticLines, type MergedResult, type NoteContext } from "./render";

export interface CiIo {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** A step's io: every line it prints goes through `mask`, and `mask` is there for texts sent to GitLab. */
export interface StepIo extends CiIo {
  mask: Mask;
  /** The values `mask` hides by value (tokens the job holds); renderers take them for their own masking. */
  secrets: readonly string[];
}

export const DEFAULT_TOKEN_VARIABLE = "GITLAB_EKS_TOKEN";

/**
 * Token variables a stack's own configuration names (`gitlab-eks:gitlab.tokenVariable`, nested or with
 * `--path` spelling), read as text: the helper masks their values without loading the configuration.
 */
export function configuredTokenVariables(dir: string, stack: string): string[] {
  const short = stack.split("/").pop() ?? stack;
  for (const ext of ["yaml", "yml"]) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, `Pulumi.${short}.${ext}`), "utf8");
    } catch {
      continue;
    }
    return [...text.matchAll(/tokenVariable["']?\s*:\s*["']?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
  }
  return [];
}

/** `io` with the job's secrets masked in everything it prints; `tokenVariables` are masked by value too. */
export function stepIo(io: CiIo, tokenVariables: readonly string[]): StepIo {
  if ("mask" in io) return io as StepIo;
  const secrets = jobSecrets(io.env, [...tokenVariables, "GITLAB_TOKEN"]);
  const mask = masker(secrets);
  return {
    ...io,
    out: (line) => io.out(mask(line)),
    err: (line) => io.err(mask(line)),
    mask,
    secrets,
  };
}

/**
 * Runs `body`; what it throws comes out with its text through `mask`: problems, and any other error,
 * whose message (and stack, printed with GITLAB_EKS_DEBUG) the CLI prints as an unexpected error.
 */
export async function maskingProblems<T>(mask: Mask, body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(
        e.problems.map((p) => ({ key: mask(p.key), message: mask(p.message) })),
        e.stack,
      );
    if (e instanceof Error) {
      e.message = mask(e.message);
      if (e.stack) e.stack = mask(e.stack);
    }
    throw e;
  }
}

export function fail(key: string, message: string): never {
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

export function readPreview(io: CiIo, file: string, option: string): PreviewDigest {
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
export function readPreviewOrNothing(
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

/** Prints what pulumi reported (errors, warnings, the program's stderr) to the job log, plain and masked. */
export function logDiagnostics(io: StepIo, digest: PreviewDigest): void {
  const shown = (digest.diagnostics ?? []).filter((d) =>
    ["error", "warning", "info#err"].includes(d.severity),
  );
  for (const line of diagnosticLines(shown, io.secrets, false)) io.err(line);
}

/**
 * The problem a failed preview is reported as, after its note and report are written. `consequence` is a
 * sentence on what the command did not do because of it, put before the fix.
 */
export function failedPreviewProblem(
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
export function refuseFailedPreview(
  io: StepIo,
  digest: PreviewDigest,
  what: { stack: string; file: string; option: string; consequence: string },
): void {
  const failure = previewFailure(digest);
  if (!failure) return;
  logDiagnostics(io, digest);
  throw new ConfigError([failedPreviewProblem(failure, { ...what, digest }, what.consequence)]);
}

/** `--pulumi-status`, when given, is an exit code. */
export function checkExitStatus(status: string | undefined): void {
  if (status !== undefined && !/^\d+$/.test(status))
    fail("--pulumi-status", `is "${status}": give the exit code of pulumi preview, e.g. "$?".`);
}

export function writeFile(io: CiIo, file: string, content: string): void {
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

/** The `name` of the Pulumi project in `dir` (its Pulumi.yaml), or undefined when there is none to read. */
export function pulumiProjectName(dir: string): string | undefined {
  for (const file of ["Pulumi.yaml", "Pulumi.yml"]) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, file), "utf8");
    } catch {
      continue;
    }
    try {
      const name = (parse(text) as { name?: unknown } | null)?.name;
      return typeof name === "string" && name.trim() ? name.trim() : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function noteContext(io: StepIo, stack: string, dir: string): NoteContext {
  return {
    stack,
    dir,
    project: pulumiProjectName(path.resolve(io.cwd, dir)),
    commitSha: io.env.CI_COMMIT_SHA,
    mergedResult: mergedResult(io),
    jobUrl: io.env.CI_JOB_URL,
    pipelineUrl: io.env.CI_PIPELINE_URL,
    secrets: io.secrets,
  };
}

export function project(io: CiIo): string {
  const p = io.env.CI_PROJECT_ID ?? io.env.CI_PROJECT_PATH;
  if (!p) fail("CI_PROJECT_ID", "not set: `gitlab-eks ci` talks to GitLab only from inside a GitLab CI job.");
  return p;
}

/** The connection, or the reason there is none (no token): callers decide whether that is fatal. */
export function connect(
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
export async function api(io: CiIo, conn: GitlabConnection, purpose: string) {
  const { gitlabClient } = await import("../gitlab/client");
  return gitlabClient(conn, { env: io.env, purpose });
}

export function apiProblem(e: unknown): never {
  // Compared by name: importing errors.ts would load gitbeaker on every CLI start.
  if (e instanceof Error && e.name === "GitlabApiError") fail("GitLab API", e.message);
  throw e;
}
