/**
 * A fake GitLab REST API (v4) for tests, served over real HTTP on 127.0.0.1.
 *
 * Tests drive the real `@gitbeaker/rest` client against it. Paths, parameters, status codes and
 * bodies follow GitLab's own code (gitlabhq/gitlabhq lib/api/*.rb, app/services, app/models) and
 * docs (doc/api/*.md); see the comments on each endpoint group.
 *
 * What @gitbeaker/rest 43.8.0 does with failures (node_modules/@gitbeaker/rest/dist/index.js,
 * `defaultRequestHandler`, built from jdalrymple/gitbeaker packages/rest/src/Requester.ts):
 *  - It retries ONLY on 429 and 502: `retryCodes = [429, 502]`, `maxRetries = 10` attempts in total,
 *    sleeping `2 ** i * 0.25` MILLISECONDS between attempts (0.25 ms, 0.5 ms, ... 128 ms; about 256 ms
 *    in all, Node rounds sub-millisecond timeouts up to 1 ms). It ignores `Retry-After`.
 *    (The shared reference says `2**i*250` ms, about 256 s; that is wrong for the installed build.)
 *  - After 10 failed attempts it throws `GitbeakerRetryError` ("Could not successfully complete this
 *    request after 10 retries, last status code: 429. ...").
 *  - Every other non-2xx status (400, 401, 403, 404, 409, 500, 503, 504, ...) throws
 *    `GitbeakerRequestError` at once, with no retry. Network errors are rethrown unchanged (a
 *    TimeoutError/AbortError becomes `GitbeakerTimeoutError`).
 *  So a single 429 or 502 is invisible to gitbeaker callers, a 500/503 is not retried at all, and a
 *  longer 429 storm exhausts its budget in about a quarter of a second. Our API module must add its
 *  own retry (honouring `Retry-After`) for 429/5xx.
 *
 * How gitbeaker exposes an HTTP error (`throwFailedRequestError` in the same file):
 *  - `err instanceof GitbeakerRequestError` (exported by @gitbeaker/rest), `err.message === err.cause.description`.
 *  - `err.cause.description`: for a JSON body, `body.error || body.message` (a string as is, anything else
 *    JSON.stringify'd, e.g. the MR 409 `'["Another open merge request already exists ..."]'`); for any
 *    other content type, the raw text.
 *  - `err.cause.response`: the fetch `Response` (`status`, `statusText`, `headers`); its body has already
 *    been read (`bodyUsed === true`), so the description is the only copy of the body.
 *  - `err.cause.request`: the fetch `Request`.
 *
 * Known gitbeaker 43.8.0 traps this fake makes visible:
 *  - `Agents.createToken` is built as a GET (dist/index.js), so against GitLab it LISTS the tokens and
 *    creates nothing. Use `api.Agents.requester.post(`projects/${id}/cluster_agents/${agentId}/tokens`,
 *    { body: { name, description } })` instead (it returns `{ body, headers, status }`).
 *  - There are no URL-configuration methods; use `requester.get/post/delete` the same way.
 *
 * Layout, one module per API resource as gitbeaker's packages/core/src/resources keeps one file per
 * resource: fake-gitlab/types.ts (the state), api.ts (the public interface), http.ts (errors, parameters, routing
 * types), core.ts (state, lookups, permissions, route table), entities.ts (what the API answers),
 * auth.ts, faults.ts (the fault layer), server.ts (HTTP, request log, the public object), seeds.ts,
 * and agents, agentTokens, urlConfigurations, environments, files, branches, runners, mergeRequests,
 * issues, notes, instance and projects: the routes of each resource.
 *
 * Deliberate simplifications are listed in `FakeGitlab`'s doc comment (fake-gitlab/api.ts).
 */
export * from "./fake-gitlab/types";
export * from "./fake-gitlab/api";
export { startFakeGitlab } from "./fake-gitlab/server";
