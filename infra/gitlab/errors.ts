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
import { gaveUpOf, type GaveUp } from "./requester";

export interface CallContext {
  /** What we were doing, e.g. `register agent "prod" in group/clusters`. */
  action: string;
  /** The token scope the call needs, e.g. `api` or `create_runner`; absent when any scope will do. */
  scope?: string;
  /** The role the token's user needs, e.g. `Maintainer on group/clusters`; absent when any user will do. */
  role?: string;
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
    /** Set when the request gave up: GitLab did not answer, or answered 429/5xx to every attempt. */
    readonly gaveUp?: GaveUp,
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
  if (e instanceof GitbeakerRetryError || e instanceof GitbeakerTimeoutError) {
    const gaveUp = gaveUpOf(e);
    return gaveUp
      ? new GitlabApiError(`Cannot ${ctx.action}: ${gaveUpText(gaveUp)}`, gaveUp.status, undefined, gaveUp)
      : new GitlabApiError(`Cannot ${ctx.action}: ${e.message}`);
  }
  if (e instanceof GitbeakerRequestError) {
    const status = statusOf(e);
    const said = (e.cause as { description?: string } | undefined)?.description ?? e.message;
    switch (status) {
      case 401:
        return new GitlabApiError(
          `Cannot ${ctx.action}: GitLab rejected the token in ${tokenVar} (401 Unauthorized): it is invalid, expired or revoked. ` +
            `Create a new token${ctx.scope ? ` with the ${ctx.scope} scope` : ""} and set ${tokenVar} to it.`,
          401,
          said,
        );
      case 403:
        return new GitlabApiError(
          /insufficient_scope/.test(said)
            ? `Cannot ${ctx.action}: the token in ${tokenVar} lacks the ${ctx.scope ?? "api"} scope (403 insufficient_scope). ` +
                `Use a token with the ${ctx.scope ?? "api"} scope.`
            : `Cannot ${ctx.action}: GitLab refused (403 ${said}).${needsText(ctx)}`,
          403,
          said,
        );
      case 404:
        return new GitlabApiError(
          `Cannot ${ctx.action}: ${ctx.target ?? "the resource"} was not found (404), or the token's user cannot see it ` +
            `(GitLab answers 404 for both). Check the path${ctx.role ? `, and that the token's user is ${ctx.role}` : ""}.`,
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

/** " The token's user needs to be X, and the token needs the Y scope." (either part only when known) */
function needsText(ctx: CallContext): string {
  const parts = [
    ctx.role ? `the token's user needs to be ${ctx.role}` : "",
    ctx.scope ? `the token needs the ${ctx.scope} scope` : "",
  ].filter(Boolean);
  const text = parts.join(", and ");
  return text ? ` ${text[0].toUpperCase()}${text.slice(1)}.` : "";
}

const STATUS_TEXT: Record<number, string> = {
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const seconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);
const times = (n: number) => (n === 1 ? "once" : n === 2 ? "twice" : `${n} times`);

/**
 * What a request that gave up met, and what to do: GitLab answered (429, 5xx) but would not serve it,
 * or it did not answer at all (timeout, connection refused or reset, unknown host).
 */
export function gaveUpText(g: GaveUp): string {
  const where = g.origin;
  if (g.status !== undefined) {
    const answer = `${g.status} ${STATUS_TEXT[g.status] ?? ""}`.trim();
    const asked =
      g.retryAfterMs !== undefined ? ` and asked to wait ${seconds(g.retryAfterMs)} (Retry-After)` : "";
    const head = `${where} answered ${answer} to ${g.method} ${g.path} (${times(g.attempts)})${asked}`;
    if (g.status === 429)
      return (
        `${head}: its rate limit for this user or address is reached. Wait ${g.retryAfterMs !== undefined ? seconds(g.retryAfterMs) : "a minute"} ` +
        `and run again; if it persists, ask the GitLab administrators about the rate limits (Admin area > Settings > Network)`
      );
    if (g.status === 502 || g.status === 504)
      return `${head}: the proxy or load balancer in front of GitLab got no answer from GitLab itself. Check GitLab's status, then run again`;
    if (g.status === 503)
      return `${head}: GitLab is down for maintenance or overloaded. Check GitLab's status, then run again`;
    return `${head}: GitLab itself failed (not the token, not the network). Check GitLab's status or its logs, then run again`;
  }
  const head = `no answer from ${where} to ${g.method} ${g.path}`;
  switch (g.code) {
    case "TIMEOUT":
      return (
        `${head} within ${seconds(g.timeoutMs ?? 0)} (${times(g.attempts)}): GitLab, or the network path to it, stalls. ` +
        `Check that the URL is right and reachable from here (firewall, proxy: HTTPS_PROXY), and GitLab's status`
      );
    case "BUDGET":
      return `${head}: not asked, the command's time budget was used up by the requests before it (see above)`;
    case "ECONNREFUSED":
      return `${head}: connection refused (nothing listens at that address and port). Check the URL (gitlab-eks:gitlab.url)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${head}: the host name does not resolve (${g.code}). Check the URL (gitlab-eks:gitlab.url) and DNS`;
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return (
        `${head}: the connection was closed before an answer (${g.code}, ${times(g.attempts)}). ` +
        `A proxy or load balancer may be cutting it, or GitLab is restarting. Check GitLab's status, then run again`
      );
    default:
      return `${head}: ${g.error ?? g.code ?? "network error"} (${times(g.attempts)}). Check the URL (gitlab-eks:gitlab.url) and the network path to it`;
  }
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
