/**
 * Turns a failed GitLab call into a message that says what was being done, what GitLab answered, and
 * what to change (which token scope, which role on which project). Never includes the token.
 */
import {
  GitbeakerRequestError,
  GitbeakerRetryError,
  GitbeakerTimeoutError,
} from "@gitbeaker/requester-utils";
import { GitlabTokenError } from "./connection";

export interface CallContext {
  /** What we were doing, e.g. `register agent "prod" in group/clusters`. */
  action: string;
  /** The token scope the call needs, e.g. `api` or `create_runner`. */
  scope: string;
  /** The role the token's user needs, e.g. `Maintainer on group/clusters`. */
  role: string;
  /** What a 404 means here, e.g. `project group/clusters`. */
  target?: string;
  tokenVariable?: string;
}

export class GitlabApiError extends Error {
  /** The request may have been carried out by GitLab (a POST that failed ambiguously; see requester.ts). */
  outcomeUnknown?: boolean;
  constructor(
    message: string,
    readonly status?: number,
    readonly gitlabMessage?: string,
  ) {
    super(message);
    // Set again: in a serialized dynamic provider this class becomes a function calling Error.call(this),
    // which does not set `message` on `this`.
    this.message = message;
    this.name = "GitlabApiError";
  }
}

/**
 * Whether a failed POST may have been carried out all the same (500, 502, 504, a timeout, a connection
 * closed after sending): the caller must look the object up before creating it again. A flag, not a class:
 * classes do not survive the serialization of dynamic providers as `instanceof` targets.
 */
export function isOutcomeUnknown(e: unknown): boolean {
  return (e as { outcomeUnknown?: unknown } | undefined)?.outcomeUnknown === true;
}

function carry(from: unknown, to: GitlabApiError): GitlabApiError {
  if (isOutcomeUnknown(from)) to.outcomeUnknown = true;
  return to;
}

export function statusOf(e: unknown): number | undefined {
  const cause = (e as { cause?: { response?: { status?: number } } })?.cause;
  return cause?.response?.status;
}

export function describeGitlabError(e: unknown, ctx: CallContext): GitlabApiError {
  return carry(e, explain(e, ctx));
}

function explain(e: unknown, ctx: CallContext): GitlabApiError {
  const tokenVar = ctx.tokenVariable ?? "GITLAB_TOKEN";
  if (e instanceof GitlabApiError) return e;
  if (e instanceof GitlabTokenError) return new GitlabApiError(`Cannot ${ctx.action}: ${e.message}`);
  if (e instanceof GitbeakerRetryError || e instanceof GitbeakerTimeoutError)
    return new GitlabApiError(`Cannot ${ctx.action}: ${e.message}`);
  if (e instanceof GitbeakerRequestError) {
    const status = statusOf(e);
    const said = (e.cause as { description?: string } | undefined)?.description ?? e.message;
    switch (status) {
      case 401:
        return new GitlabApiError(
          `Cannot ${ctx.action}: GitLab rejected the token in ${tokenVar} (401 Unauthorized): it is invalid, expired or revoked. ` +
            `Create a new token with the ${ctx.scope} scope and set ${tokenVar}.`,
          401,
          said,
        );
      case 403:
        return new GitlabApiError(
          /insufficient_scope/.test(said)
            ? `Cannot ${ctx.action}: the token in ${tokenVar} lacks the ${ctx.scope} scope (403 insufficient_scope). Use a token with the ${ctx.scope} scope.`
            : `Cannot ${ctx.action}: GitLab refused (403 ${said}). The token's user needs to be ${ctx.role}, and the token needs the ${ctx.scope} scope.`,
          403,
          said,
        );
      case 404:
        return new GitlabApiError(
          `Cannot ${ctx.action}: ${ctx.target ?? "the resource"} was not found (404), or the token's user cannot see it ` +
            `(GitLab answers 404 for both). Check the path, and that the user is ${ctx.role}.`,
          404,
          said,
        );
      default:
        return new GitlabApiError(
          `Cannot ${ctx.action}: GitLab answered ${status ?? "an error"}: ${said}`,
          status,
          said,
        );
    }
  }
  const message = e instanceof Error ? e.message : String(e);
  return new GitlabApiError(`Cannot ${ctx.action}: ${message}`);
}

/** Runs one GitLab call, turning any failure into a GitlabApiError with context. */
export async function call<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw describeGitlabError(e, ctx);
  }
}

/** Runs one GitLab call where 404 means "not there (any more)": undefined instead of an error. */
export async function callOrAbsent<T>(ctx: CallContext, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw describeGitlabError(e, ctx);
  }
}

/**
 * A create (POST) that is never resent blindly. When its outcome is unknown, the object is looked up by
 * its natural key in the same run: found, it is the one GitLab created; not found, it is created once more.
 * A second unknown outcome fails the run; the next run's lookup (every create here is preceded by one)
 * finds what either attempt created.
 */
export async function createOnce<T>(
  create: () => Promise<T>,
  lookup: () => Promise<T | undefined>,
): Promise<{ value: T; recovered: boolean }> {
  try {
    return { value: await create(), recovered: false };
  } catch (e) {
    if (!isOutcomeUnknown(e)) throw e;
    const found = await lookup();
    if (found !== undefined) return { value: found, recovered: true };
    return { value: await create(), recovered: false };
  }
}
