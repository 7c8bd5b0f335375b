/**
 * gitbeaker's request handler, replaced with one that is safe for unattended runs. gitbeaker's own retries
 * 429 and 502 ten times within about a quarter of a second (2**i * 0.25 ms) and ignores Retry-After, so a
 * rate-limited run fails at once. This one:
 *   - honours Retry-After (seconds or an HTTP date) on 429 and 503, else backs off exponentially;
 *   - retries GET, PUT and DELETE (idempotent: a second one changes nothing) on 500, 502, 503, 504 and
 *     network errors/timeouts, with exponential backoff and jitter;
 *   - resends a POST only when the request provably never reached GitLab or was refused before being
 *     carried out: the connection was never made (refused, unknown host), 429, or 503 with Retry-After.
 *     Any other failure of a POST (500, 502, 504, 503 without Retry-After, a timeout, a connection closed
 *     after sending) leaves its outcome unknown: behind a proxy GitLab may well have committed it, and a
 *     second POST would create a duplicate token, runner, note or merge request. The error is marked
 *     `outcomeUnknown` (see isOutcomeUnknown in errors.ts) and the caller looks the object up by its
 *     natural key before it creates anything again;
 *   - gives each attempt its own timeout; and stops after `maxAttempts` or `maxWaitMs` of waiting in all,
 *     or at the policy's `deadline` (interactive commands such as `doctor`: a whole run fits a budget).
 * Errors keep gitbeaker's shape (GitbeakerRequestError with cause {description, request, response}); a
 * request that gave up throws GitbeakerRetryError or GitbeakerTimeoutError whose cause is a `GaveUp`: what
 * GitLab last answered (a status), or that it did not answer (a network code or a timeout).
 */
import {
  createRequesterFn,
  GitbeakerRequestError,
  GitbeakerRetryError,
  GitbeakerTimeoutError,
  getMatchingRateLimiter,
  type FormattedResponse,
  type RateLimiters,
  type RequestHandlerFn,
  type ResourceOptions,
} from "@gitbeaker/requester-utils";

export interface RetryPolicy {
  maxAttempts: number;
  /** Upper bound on the total time spent waiting between attempts. */
  maxWaitMs: number;
  /** First backoff; doubled per attempt, with jitter. */
  baseDelayMs: number;
  /** Longest single wait, whatever Retry-After says. */
  maxDelayMs: number;
  /** Timeout of one attempt. */
  attemptTimeoutMs: number;
  /**
   * Optional end (ms since the epoch) of every request made with this policy: an attempt is cut short
   * at it, no wait runs past it, and no attempt starts after it. Interactive commands set it so their
   * whole run fits a budget whatever GitLab does; `pulumi up` sets none.
   */
  deadline?: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  maxWaitMs: 120_000,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  attemptTimeoutMs: 30_000,
};

/**
 * The environment variable that sets the timeout of one attempt, in milliseconds, for every client built
 * without an explicit policy (the dynamic providers in `pulumi up`, the CI helper). Unset: 30 s. A GitLab
 * slow to answer large requests may need more; the tests set less, so that a stall past the client's
 * timeout ends in a test's time. Read by the policy, from the same environment as the token.
 */
export const TIMEOUT_VARIABLE = "GITLAB_EKS_GITLAB_TIMEOUT_MS";

/** DEFAULT_RETRY with the attempt timeout from TIMEOUT_VARIABLE when it is set; a bad value is refused. */
export function retryPolicyFromEnv(env: Record<string, string | undefined>): RetryPolicy {
  const raw = env[TIMEOUT_VARIABLE]?.trim();
  if (!raw) return DEFAULT_RETRY;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > 3_600_000)
    throw new Error(
      `${TIMEOUT_VARIABLE} is ${JSON.stringify(raw)}: it must be the timeout of one GitLab request in ` +
        `milliseconds, a whole number from 1 to 3600000. Fix: set it to e.g. 60000, or unset it for the ` +
        `default of ${DEFAULT_RETRY.attemptTimeoutMs}.`,
    );
  return { ...DEFAULT_RETRY, attemptTimeoutMs: Number(raw) };
}

/**
 * An array, not a Set: Pulumi's closure serialization (dynamic providers run only in serialized form)
 * turns a captured Set into an empty object, and `.has` then throws on every non-2xx response.
 */
const RETRY_STATUSES = [429, 500, 502, 503, 504];

/** Errors of a connection that was never made: the request cannot have reached GitLab. An array, as above. */
const NOT_SENT_CODES = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"];

/** POSTs that change nothing when sent twice (stopping a stopped environment): retried like a GET. */
const IDEMPOTENT_POSTS = [/\/environments\/\d+\/stop$/];

/** Marks an error whose request may have been carried out by GitLab (see isOutcomeUnknown in errors.ts). */
function outcomeUnknown<E extends Error>(e: E): E {
  (e as E & { outcomeUnknown: boolean }).outcomeUnknown = true;
  return e;
}

function errorCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

export interface RequestEvent {
  method: string;
  /** Path and query of the request (never headers, so never the token). */
  path: string;
  status?: number;
  attempt: number;
  /** Set when the request will be retried. */
  retryInMs?: number;
  error?: string;
}

/** Why a request gave up: the `cause` of the GitbeakerRetryError or GitbeakerTimeoutError it throws. */
export interface GaveUp {
  /** Origin of the GitLab asked, e.g. https://gitlab.example.com. */
  origin: string;
  method: string;
  /** Path without the query. */
  path: string;
  attempts: number;
  /** The last HTTP status GitLab answered; absent when the last attempt got no answer. */
  status?: number;
  /** How long GitLab asked to wait (Retry-After), when it did. */
  retryAfterMs?: number;
  /**
   * Why the last attempt got no answer: a network code (ECONNREFUSED, ENOTFOUND, ECONNRESET,
   * UND_ERR_SOCKET, ...), TIMEOUT, or BUDGET (the policy's deadline came before the attempt).
   */
  code?: string;
  /** Timeout of the last attempt, when it timed out. */
  timeoutMs?: number;
  /** The network error of the last attempt, e.g. "fetch failed (bad port)". */
  error?: string;
}

/** The GaveUp facts of an error thrown by this handler, if it is one. */
export function gaveUpOf(e: unknown): GaveUp | undefined {
  const cause = (e as { cause?: Partial<GaveUp> } | undefined)?.cause;
  return cause && typeof cause.attempts === "number" && typeof cause.origin === "string"
    ? (cause as GaveUp)
    : undefined;
}

export type Sleep = (ms: number) => Promise<void>;
const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Delay asked for by a Retry-After header, in ms, or undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function createRequestHandler(
  policy: RetryPolicy = DEFAULT_RETRY,
  onEvent: (e: RequestEvent) => void = () => {},
  sleep: Sleep = realSleep,
): RequestHandlerFn {
  return async (endpoint: string, options?: Record<string, unknown>): Promise<FormattedResponse> => {
    const {
      rateLimiters,
      asStream,
      prefixUrl,
      searchParams,
      method = "GET",
      signal: _ignored,
      timeout: _t,
      agent: _a,
      ...init
    } = (options ?? {}) as Record<string, unknown> & { rateLimiters?: RateLimiters; method?: string };
    const base =
      typeof prefixUrl === "string" ? (prefixUrl.endsWith("/") ? prefixUrl : `${prefixUrl}/`) : undefined;
    const url = new URL(endpoint, base);
    url.search = typeof searchParams === "string" ? searchParams : "";
    const path = `${url.pathname}${url.search}`;
    const rateLimit = getMatchingRateLimiter(endpoint, rateLimiters, method);
    const once = method === "POST" && !IDEMPOTENT_POSTS.some((re) => re.test(url.pathname));
    let waited = 0;
    let last = "";

    const facts = (attempts: number, extra: Partial<GaveUp>): GaveUp => ({
      origin: url.origin,
      method,
      path: url.pathname,
      attempts,
      ...extra,
    });
    const left = () => (policy.deadline === undefined ? Infinity : policy.deadline - Date.now());

    for (let attempt = 1; ; attempt++) {
      await rateLimit();
      if (left() <= 0)
        throw new GitbeakerTimeoutError(`${method} ${url.pathname}: not sent, the time budget ran out`, {
          cause: facts(attempt - 1, { code: "BUDGET" }),
        });
      const timeoutMs = Math.max(1, Math.min(policy.attemptTimeoutMs, left()));
      const request = new Request(url, {
        ...(init as RequestInit),
        method,
        signal: AbortSignal.timeout(timeoutMs),
      });
      let response: Response | undefined;
      let failure: string | undefined;
      let code: string | undefined;
      let notSent = false;
      try {
        response = await fetch(request);
      } catch (e) {
        const name = (e as Error).name;
        code = errorCode(e);
        notSent = code !== undefined && NOT_SENT_CODES.includes(code);
        if (name === "TimeoutError" || name === "AbortError") code = "TIMEOUT";
        const reason = code ?? (e as { cause?: { message?: unknown } }).cause?.message;
        failure =
          code === "TIMEOUT"
            ? `timed out after ${timeoutMs} ms`
            : `${(e as Error).message}${typeof reason === "string" ? ` (${reason})` : ""}`;
      }
      if (!response && once && !notSent) {
        onEvent({ method, path, attempt, error: failure });
        throw outcomeUnknown(
          new GitbeakerTimeoutError(
            `${method} ${url.pathname}: ${failure}. Not resent: GitLab may have carried it out, and a second ` +
              "POST could create a duplicate.",
          ),
        );
      }
      if (response?.ok) {
        onEvent({ method, path, status: response.status, attempt });
        return parseResponse(response, asStream === true);
      }
      if (response && !RETRY_STATUSES.includes(response.status)) {
        onEvent({ method, path, status: response.status, attempt });
        await throwRequestError(request, response);
      }
      if (response && once && response.status >= 500) {
        const refused = response.status === 503 && response.headers.get("retry-after") !== null;
        if (!refused) {
          onEvent({ method, path, status: response.status, attempt });
          await throwRequestError(request, response, true);
        }
      }
      const backoff = Math.min(
        policy.maxDelayMs,
        policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5),
      );
      const asked =
        response && (response.status === 429 || response.status === 503)
          ? retryAfterMs(response.headers.get("retry-after"))
          : undefined;
      const delay = Math.min(policy.maxDelayMs, asked ?? backoff);
      last = response ? `HTTP ${response.status}` : (failure ?? "no response");
      // Against a deadline, a Retry-After that runs past it is not cut short: the wait would be refused again.
      const past = Math.max(delay, asked ?? 0) >= left();
      if (attempt >= policy.maxAttempts || waited + delay > policy.maxWaitMs || past) {
        onEvent({ method, path, status: response?.status, attempt, error: last });
        await response?.body?.cancel().catch(() => {});
        const cause = response
          ? facts(attempt, {
              status: response.status,
              ...(asked !== undefined ? { retryAfterMs: asked } : {}),
            })
          : facts(attempt, { code, ...(code === "TIMEOUT" ? { timeoutMs } : { error: failure }) });
        if (code === "TIMEOUT")
          throw new GitbeakerTimeoutError(`${method} ${url.pathname}: ${failure}, ${attempt} attempts`, {
            cause,
          });
        throw new GitbeakerRetryError(
          `${method} ${url.pathname}: gave up after ${attempt} attempts (last: ${last}).` +
            (response?.status === 429
              ? " GitLab's rate limit for this endpoint was reached; try again later."
              : " Check GitLab's status."),
          { cause },
        );
      }
      onEvent({ method, path, status: response?.status, attempt, retryInMs: delay, error: failure });
      await response?.body?.cancel().catch(() => {});
      waited += delay;
      await sleep(delay);
    }
  };
}

async function parseResponse(response: Response, asStream: boolean): Promise<FormattedResponse> {
  const headers = Object.fromEntries(response.headers.entries());
  if (asStream) return { body: response.body as ReadableStream, headers, status: response.status };
  if (response.status === 204) return { body: null, headers, status: response.status };
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
  let body: FormattedResponse["body"];
  if (type === "application/json") body = ((await response.json()) as FormattedResponse["body"]) || {};
  else if (type.startsWith("text/")) body = (await response.text()) || "";
  else body = await response.blob();
  return { body, headers, status: response.status };
}

async function throwRequestError(request: Request, response: Response, unknown = false): Promise<never> {
  const content = await response.text();
  let description = content;
  if (response.headers.get("content-type")?.includes("application/json")) {
    try {
      const parsed = JSON.parse(content) as { error?: unknown; message?: unknown };
      const prop = parsed?.error ?? parsed?.message ?? "";
      description = typeof prop === "string" ? prop : JSON.stringify(prop);
    } catch {
      description = content;
    }
  }
  if (unknown)
    description =
      `${response.status} ${response.statusText}`.trim() +
      ` after the ${request.method} was sent. Not resent: GitLab may have carried it out, and a second ` +
      "POST could create a duplicate.";
  const error = new GitbeakerRequestError(description, { cause: { description, request, response } });
  throw unknown ? outcomeUnknown(error) : error;
}

/** A gitbeaker requesterFn using our handler. */
export function createRequester(
  policy?: RetryPolicy,
  onEvent?: (e: RequestEvent) => void,
  sleep?: Sleep,
): (options: ResourceOptions) => ReturnType<ReturnType<typeof createRequesterFn>> {
  return createRequesterFn((_, reqo) => Promise.resolve(reqo), createRequestHandler(policy, onEvent, sleep));
}
