/**
 * Reads the document `pulumi preview --json` prints and reduces it to what the MR note, the merge-request
 * widget and the drift issue need. The shape is Pulumi's `display.PreviewDigest`, written by
 * `ShowPreviewDigest` in pulumi/pulumi pkg/backend/display/json.go:
 *   { config?, steps?: [{op, urn, provider?, oldState?, newState?, diffReasons?, replaceReasons?,
 *     detailedDiff}], diagnostics?: [{urn?, prefix?, message, severity}], duration?, changeSummary?:
 *     {op: count}, maybeCorrupt? }
 * Pulumi already replaces secret values with the string "[secret]" there (massagePropertyValue); we also
 * mask anything still shaped like a serialized secret, so a secret can never reach a note.
 *
 * A failed preview still prints a digest: a program error gives one with "error" diagnostics (and exit
 * status 1 since v3.248.0's exit-code taxonomy, 255 before); a failure before planning (no stack, invalid configuration, backend) prints nothing or
 * `{}`. `previewFailure` tells those apart from a plan.
 */

import { maskText } from "./mask";

export type StepOp =
  | "same"
  | "create"
  | "update"
  | "delete"
  | "replace"
  | "create-replacement"
  | "delete-replaced"
  | "read"
  | "read-replacement"
  | "refresh"
  | "discard"
  | "discard-replaced"
  | "remove-pending-replace"
  | "import"
  | "import-replacement"
  | string;

export interface ResourceState {
  urn: string;
  type?: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

export interface PreviewStep {
  op: StepOp;
  urn: string;
  provider?: string;
  oldState?: ResourceState;
  newState?: ResourceState;
  diffReasons?: string[];
  replaceReasons?: string[];
  detailedDiff?: Record<string, { kind: string; inputDiff: boolean }> | null;
}

export interface PreviewDiagnostic {
  urn?: string;
  /** Older Pulumi versions only; newer ones put the prefix into `message`. */
  prefix?: string;
  message: string;
  /** debug, info, info#err (the program's stderr), warning or error. */
  severity: string;
}

export interface PreviewDigest {
  config?: Record<string, string>;
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
  duration?: number;
  changeSummary?: Record<string, number>;
  maybeCorrupt?: boolean;
}

export class PreviewFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreviewFormatError";
  }
}

/** The file holds no preview at all (empty, or not JSON): pulumi failed before printing one. */
export class NoPreviewError extends PreviewFormatError {
  constructor(message: string) {
    super(message);
    this.name = "NoPreviewError";
  }
}

const SEE_PULUMI_ERROR =
  "Fix: read pulumi's own error above in the job log (for example a missing stack, the backend or its credentials, or invalid configuration).";

/** Parses the output of `pulumi preview --json`, with a message naming the file when it is not that. */
export function parsePreview(text: string, source: string): PreviewDigest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const hint = text.trim() === "" ? "it is empty" : "it is not JSON";
    throw new NoPreviewError(
      `${source}: expected the output of \`pulumi preview --json\`, but ${hint}. Did pulumi fail before printing it? ${SEE_PULUMI_ERROR}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new PreviewFormatError(`${source}: expected a JSON object from \`pulumi preview --json\`.`);
  const digest = parsed as PreviewDigest;
  if (digest.steps !== undefined && !Array.isArray(digest.steps))
    throw new PreviewFormatError(
      `${source}: "steps" is not a list; is this \`pulumi preview --json\` output?`,
    );
  for (const [i, s] of (digest.steps ?? []).entries())
    if (typeof s?.op !== "string" || typeof s?.urn !== "string")
      throw new PreviewFormatError(`${source}: steps[${i}] has no "op" or "urn".`);
  return digest;
}

/** Why a preview has no plan a reviewer can trust: pulumi reported errors, or stopped before planning. */
export type PreviewFailure = { kind: "errors"; errors: PreviewDiagnostic[] } | { kind: "not-planned" };

/**
 * undefined for a plan. Any "error" diagnostic fails the preview (pulumi exits non-zero then, and the steps
 * are only those registered before the error). No steps at all means pulumi never planned: a real preview
 * always lists the root pulumi:pulumi:Stack step, even with nothing else to do.
 */
export function previewFailure(digest: PreviewDigest): PreviewFailure | undefined {
  const errors = (digest.diagnostics ?? []).filter((d) => d.severity === "error");
  if (errors.length > 0) return { kind: "errors", errors };
  if ((digest.steps ?? []).length === 0) return { kind: "not-planned" };
  return undefined;
}

/** The problem message for a digest without steps (`{}` is what pulumi prints when it stops that early). */
export function notPlannedMessage(source: string, digest: PreviewDigest): string {
  const what = Object.keys(digest).length === 0 ? "just `{}`" : "a preview without any step";
  return `${source}: \`pulumi preview --json\` printed ${what}: it stopped before planning. ${SEE_PULUMI_ERROR}`;
}

/** The operations a reviewer cares about, in the order the note shows them. */
export const CHANGE_OPS = ["create", "update", "replace", "delete"] as const;
export type ChangeOp = (typeof CHANGE_OPS)[number];

export interface ChangeCounts {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
}

/** Maps a step operation to the change a reviewer sees (undefined: no change shown). */
export function changeOf(op: StepOp): ChangeOp | undefined {
  switch (op) {
    case "create":
    case "import":
      return "create";
    case "update":
      return "update";
    case "replace":
    case "create-replacement":
    case "import-replacement":
      return "replace";
    case "delete":
    case "discard":
      return "delete";
    default:
      return undefined;
  }
}

/**
 * Counts per change. Pulumi's own changeSummary is used when present (it is what `pulumi preview` prints);
 * steps are counted only when it is missing. A replacement appears as several steps (create-replacement,
 * replace, delete-replaced) but once in changeSummary under "replace".
 */
export function countChanges(digest: PreviewDigest): ChangeCounts {
  const counts: ChangeCounts = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
  const summary = digest.changeSummary;
  if (summary && Object.keys(summary).length > 0) {
    for (const [op, n] of Object.entries(summary)) {
      if (op === "same") counts.same += n;
      // A replacement is counted once, under "replace"; its helper steps would count it twice.
      if (op === "create-replacement" || op === "import-replacement" || op === "delete-replaced") continue;
      const change = changeOf(op);
      if (change) counts[change] += n;
    }
    return counts;
  }
  for (const step of resourceSteps(digest)) {
    if (step.op === "same") counts.same++;
    const change = changeOf(step.op);
    if (change) counts[change]++;
  }
  return counts;
}

export function hasChanges(c: ChangeCounts): boolean {
  return c.create + c.update + c.replace + c.delete > 0;
}

/** Steps of real resources (the root pulumi:pulumi:Stack resource and providers are not "changes"). */
export function resourceSteps(digest: PreviewDigest): PreviewStep[] {
  return (digest.steps ?? []).filter(
    (s) =>
      !s.urn.includes("::pulumi:pulumi:Stack::") &&
      !/::pulumi:providers:/.test(s.urn) &&
      s.op !== "delete-replaced" &&
      s.op !== "create-replacement",
  );
}

/** The steps shown in the note: one per changed resource. */
export function changedSteps(digest: PreviewDigest): PreviewStep[] {
  return resourceSteps(digest).filter((s) => changeOf(s.op) !== undefined);
}

/**
 * GitLab's merge-request widget (`artifacts:reports:terraform`) reads {"create","update","delete"}. A
 * replacement destroys and creates, so it counts in both, as `terraform show -json` reduces it.
 */
export function terraformReport(c: ChangeCounts): { create: number; update: number; delete: number } {
  return { create: c.create + c.replace, update: c.update, delete: c.delete + c.replace };
}

/** What Pulumi puts where a value is unknown until `up` (an output of a resource still to be created). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The key of Pulumi's serialized special values, and the values that mark an asset or an archive. */
const SIG = "4dabf18193072939515e22adb298388d";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";

/**
 * Replaces anything that still looks like a serialized secret with "[secret]". Assets and archives (the
 * only special values a preview digest really holds) become a short description: where they come from
 * and the start of their hash, so a changed file shows as a change. Their text is never shown. Any other
 * special value (secret, output value, resource reference) is masked.
 */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG] === ASSET_SIG) return describeAsset("asset", obj);
    if (obj[SIG] === ARCHIVE_SIG) return describeAsset("archive", obj);
    if (SIG in obj || "ciphertext" in obj) return "[secret]";
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, maskSecrets(v)]));
  }
  return value;
}

function describeAsset(kind: "asset" | "archive", obj: Record<string, unknown>): string {
  const from =
    typeof obj.path === "string"
      ? obj.path
      : typeof obj.uri === "string"
        ? "from a URI"
        : typeof obj.text === "string"
          ? "text"
          : obj.assets && typeof obj.assets === "object"
            ? `of ${Object.keys(obj.assets).length} file(s)`
            : "";
  const hash = typeof obj.hash === "string" && obj.hash ? `sha256 ${obj.hash.slice(0, 12)}` : "";
  return `[${[kind, from, hash].filter(Boolean).join(" ")}]`;
}

/** ANSI escape sequences (CSI such as colours, OSC such as links, and two-character escapes). */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-_])/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * A diagnostic message as plain text for a note or a log: ANSI escapes and other control characters
 * removed (pulumi keeps the program's colours in the digest even with --color never), and secrets
 * masked by `maskText` (mask.ts): the values the job holds (`knownSecrets`) and anything shaped like a token.
 */
export function plainMessage(message: string, knownSecrets: readonly string[] = []): string {
  return maskText(message.replace(ANSI, "").replace(/\r\n?/g, "\n").replace(CONTROL, ""), knownSecrets);
}

/** `urn:pulumi:dev::proj::aws:s3/bucket:Bucket::logs` → type and name. */
export function describeUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const name = parts[parts.length - 1] ?? urn;
  const typeChain = parts[parts.length - 2] ?? "";
  const type = typeChain.split("$").pop() ?? typeChain;
  return { type, name };
}
