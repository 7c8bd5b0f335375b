/**
 * A configuration problem: the full key (as `pulumi config set --path` spells it), what is wrong and how
 * to fix it. Validation collects every problem before reporting, so a user fixes them all in one go.
 */
import { escapeText } from "../core/text";

export interface Problem {
  /** Full key, e.g. `gitlab-eks:runnerPool.minSize` or `aws:region`. */
  key: string;
  /** What is wrong and how to fix it, in one sentence or two. */
  message: string;
}

/**
 * One line per problem. Keys and values come from the user's file, so hidden characters (a newline in a
 * key could print a forged `ok` line) are shown escaped.
 */
export function formatProblem(p: Problem): string {
  return `${escapeText(p.key)}: ${escapeText(p.message)}`;
}

/** Thrown when a stack's configuration is invalid; `problems` holds every problem found. */
export class ConfigError extends Error {
  constructor(
    readonly problems: Problem[],
    readonly stack?: string,
  ) {
    super(
      `${stack ? `Stack "${stack}": ` : ""}${problems.length} configuration problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Shows a config value in a message the way a user typed it. */
export function show(value: unknown): string {
  if (typeof value === "string") return escapeText(JSON.stringify(value));
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value))
    return Number.isNaN(value) ? ".nan (not a number)" : value > 0 ? ".inf" : "-.inf";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
