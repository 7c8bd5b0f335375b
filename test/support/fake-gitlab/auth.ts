import * as http from "node:http";

import { Params, HttpError, unauthorized, now, AuthInfo, Route, isExpired } from "./http";
import type { Core } from "./core";

/** Authentication (lib/api/api_guard.rb, lib/gitlab/auth/auth_finders.rb): who sends the request, with which scopes. */
export function createAuthenticate(core: Core) {
  const { state, userById } = core;

  function authenticate(
    req: http.IncomingMessage,
    query: Record<string, string | string[]>,
    body: Params,
    r: Route,
    method: string,
  ): AuthInfo {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const queryStr = (k: string): string | undefined => {
      const v = query[k] ?? body[k];
      return typeof v === "string" ? v : undefined;
    };
    const bearer = header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const privateToken =
      header("private-token") ?? queryStr("private_token") ?? bearer ?? queryStr("access_token");
    if (privateToken !== undefined) {
      const t = state.tokens.find((x) => x.token === privateToken);
      if (!t) throw unauthorized();
      if (t.revoked)
        throw new HttpError(401, {
          error: "invalid_token",
          error_description: "Token was revoked. You have to re-authorize from the user.",
        });
      if (isExpired(t))
        throw new HttpError(401, {
          error: "invalid_token",
          error_description: "Token is expired. You can either do re-authorization or token refresh.",
        });
      const user = userById(t.userId);
      if (!user || user.state !== "active") throw unauthorized();
      if (!r.anyScope) {
        const isGet = method === "GET" || method === "HEAD";
        const allowed = [...(r.scopes ?? []), "api", ...(isGet ? ["read_api", ...(r.getScopes ?? [])] : [])];
        if (!t.scopes.some((s) => allowed.includes(s)))
          throw new HttpError(403, {
            error: "insufficient_scope",
            error_description: "The request requires higher privileges than provided by the access token.",
            scope: allowed.join(" "),
          });
      }
      t.lastUsedAt = now();
      return { kind: "token", user, token: t };
    }
    const jobToken = header("job-token") ?? queryStr("job_token");
    if (jobToken !== undefined && r.jobToken) {
      const job = state.jobTokens.find((j) => j.token === jobToken);
      if (!job) throw unauthorized();
      const user = userById(job.userId);
      if (!user || user.state !== "active") throw unauthorized();
      return { kind: "job", user, job };
    }
    // No credentials, or a job token on a route that does not accept one: authenticate! fails.
    throw unauthorized();
  }

  return authenticate;
}
