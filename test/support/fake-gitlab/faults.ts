/**
 * The fault layer: what real GitLab installations do to a request besides answering it. Resource modules
 * know nothing of it; the server asks it, for every request, what to do before and after applying it.
 *
 * Before the request is applied (GitLab never carried it out):
 *   - `failNext`: 429 (with Retry-After and GitLab's RateLimit headers), 500, 502, 503 or 504 instead of the
 *     answer. Several in a row (`times`) make a 429 storm or a long outage.
 *   - `stall` with `apply: false`: no answer until the client gives up and closes the connection.
 * After the request was applied (the backend committed; the client learns nothing, or something wrong):
 *   - `loseAnswer`: the connection is closed without an answer (a proxy or load balancer dropping it);
 *   - `failAfterApplying`: a proxy answers 500, 502 or 504 although GitLab committed the change;
 *   - `answerLate`: the answer is held back for `delayMs` (a client with a shorter timeout gives up);
 *   - `stall` (default `apply: true`): the answer is held until the client closes the connection.
 * Faults match by method and path, apply in the order they were added, and are used up after `times`.
 * `onHit` runs when a fault meets its first request: a fault armed there hits only what comes after it
 * (the lookup after an ambiguous POST, not the identical GET before it).
 */
import type * as http from "node:http";
import { matchesPattern } from "./http";

export interface FaultMatch {
  method?: string;
  /** Substring of, or RegExp tested against, the raw path (and the percent-decoded path). */
  pathPattern?: string | RegExp;
  /** How many matching requests are hit (default 1). */
  times?: number;
  /** Called when the fault meets its first request, before that request is carried out. */
  onHit?: () => void;
}

export type FaultEffect =
  | { when: "before"; status: 429 | 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  | { when: "before"; stall: true }
  | { when: "after"; drop: true }
  | { when: "after"; status: 500 | 502 | 504 }
  | { when: "after"; delayMs: number }
  | { when: "after"; stall: true };

interface Fault {
  method?: string;
  pathPattern?: string | RegExp;
  effect: FaultEffect;
  remaining: number;
  onHit?: () => void;
}

export interface FaultReply {
  status: number;
  body: string | object;
  headers: Record<string, string>;
}

export class FaultLayer {
  private faults: Fault[] = [];

  add(match: FaultMatch, effect: FaultEffect): void {
    this.faults.push({
      method: match.method,
      pathPattern: match.pathPattern,
      effect,
      remaining: match.times ?? 1,
      onHit: match.onHit,
    });
  }

  pending(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault this request meets, used up by one; undefined when it goes through untouched. */
  take(method: string, rawPath: string): FaultEffect | undefined {
    const fault = this.faults.find(
      (f) => (!f.method || f.method.toUpperCase() === method) && matchesPattern(rawPath, f.pathPattern),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    const onHit = fault.onHit;
    fault.onHit = undefined;
    onHit?.();
    return fault.effect;
  }
}

/** Resolves when the client closes the connection (it gave up waiting). */
export function clientGone(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed || req.socket.destroyed) return resolve();
    res.once("close", () => resolve());
    req.socket.once("close", () => resolve());
  });
}

/**
 * What GitLab (or the proxy in front of it) sends for an injected status. A 429 always says when to retry
 * (default after 1 s); a 503 only when `retryAfterSeconds` is given (a maintenance page that says so).
 */
export function faultReply(status: number, retryAfterSeconds?: number): FaultReply {
  switch (status) {
    case 429: {
      const after = retryAfterSeconds ?? 1;
      const reset = Math.floor(Date.now() / 1000) + after;
      return {
        status: 429,
        body: "Retry later\n",
        headers: {
          "content-type": "text/plain",
          "retry-after": String(after),
          "ratelimit-name": "throttle_authenticated_api",
          "ratelimit-limit": "60",
          "ratelimit-observed": "61",
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(reset),
          "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
        },
      };
    }
    case 500:
      return { status: 500, body: { message: "500 Internal Server Error" }, headers: {} };
    case 502:
      return {
        status: 502,
        body: "<!DOCTYPE html>\n<html><head><title>GitLab is not responding (502)</title></head><body><h1>502</h1><h3>Whoops, GitLab is taking too much time to respond.</h3></body></html>\n",
        headers: { "content-type": "text/html; charset=utf-8" },
      };
    case 503:
      return {
        status: 503,
        body: "<!DOCTYPE html>\n<html><head><title>The server is temporarily unavailable (503)</title></head><body><h1>503</h1><h3>The server is temporarily unavailable.</h3></body></html>\n",
        headers: {
          "content-type": "text/html; charset=utf-8",
          ...(retryAfterSeconds !== undefined ? { "retry-after": String(retryAfterSeconds) } : {}),
        },
      };
    default:
      return {
        status,
        body: `<html>\r\n<head><title>${status} Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>${status} Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
        headers: { "content-type": "text/html" },
      };
  }
}
