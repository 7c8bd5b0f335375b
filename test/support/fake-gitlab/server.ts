/**
 * The HTTP side of the fake: routing, body parsing, authentication, the fault layer, and the public
 * FakeGitlab object (request log, fault injection, seeding helpers).
 */
import * as crypto from "node:crypto";
import * as http from "node:http";
import { createAuthenticate } from "./auth";
import { createCore } from "./core";
import { clientGone, FaultLayer, faultReply } from "./faults";
import { grapeError, HttpError, matchesPattern, MUTATING, parseQuery, redactQuery } from "./http";
import type { Ctx, Params, Route } from "./http";
import { registerAgents } from "./agents";
import { registerAgentTokens } from "./agentTokens";
import { registerBranches } from "./branches";
import { registerDeployTokens } from "./deployTokens";
import { registerEnvironments } from "./environments";
import { registerFiles } from "./files";
import { registerInstance } from "./instance";
import { registerIssues } from "./issues";
import { registerMergeRequests } from "./mergeRequests";
import { registerNotes } from "./notes";
import { registerProjects } from "./projects";
import { registerRunners } from "./runners";
import { registerUrlConfigurations } from "./urlConfigurations";
import { createSeeds } from "./seeds";
import type { FakeGitlab, FakeGitlabOptions, RequestFilter, RequestLogEntry } from "./api";

export async function startFakeGitlab(options: FakeGitlabOptions = {}): Promise<FakeGitlab> {
  const core = createCore(options);
  const { state, routes, paginationHeaders } = core;
  for (const register of [
    registerInstance,
    registerProjects,
    registerAgents,
    registerAgentTokens,
    registerDeployTokens,
    registerUrlConfigurations,
    registerEnvironments,
    registerFiles,
    registerBranches,
    registerRunners,
    registerMergeRequests,
    registerIssues,
    registerNotes,
  ])
    register(core);
  const authenticate = createAuthenticate(core);
  const requests: RequestLogEntry[] = [];
  const faults = new FaultLayer();

  function matchRoute(
    method: string,
    apiPath: string,
  ): { r: Route; params: Record<string, string> } | undefined {
    const segs = apiPath.split("/").filter(Boolean);
    for (const r of routes) {
      if (r.method !== method || r.segments.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let okMatch = true;
      for (let i = 0; i < segs.length; i++) {
        const pat = r.segments[i];
        if (pat.startsWith(":")) {
          try {
            params[pat.slice(1)] = decodeURIComponent(segs[i]);
          } catch {
            okMatch = false;
            break;
          }
        } else if (pat !== segs[i]) {
          okMatch = false;
          break;
        }
      }
      if (okMatch) return { r, params };
    }
    return undefined;
  }

  async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function parseBody(req: http.IncomingMessage, raw: Buffer): Params {
    if (raw.length === 0) return {};
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (type === "application/json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString("utf8"));
      } catch {
        throw grapeError("The request body is not valid JSON");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return {};
      return parsed as Params;
    }
    if (type === "application/x-www-form-urlencoded") return parseQuery(raw.toString("utf8"));
    return {};
  }

  function send(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): void {
    const h: Record<string, string> = { "x-request-id": crypto.randomUUID(), ...headers };
    let payload: Buffer | undefined;
    if (status === 204 || body === undefined) {
      payload = undefined;
    } else if (Buffer.isBuffer(body)) {
      payload = body;
      h["content-type"] ??= "text/plain; charset=utf-8";
    } else if (typeof body === "string") {
      payload = Buffer.from(body, "utf8");
      h["content-type"] ??= "text/plain; charset=utf-8";
    } else {
      payload = Buffer.from(JSON.stringify(body), "utf8");
      h["content-type"] = "application/json";
    }
    if (payload) h["content-length"] = String(payload.length);
    res.writeHead(status, h);
    res.end(payload);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const qIndex = rawUrl.indexOf("?");
    const rawPath = qIndex === -1 ? rawUrl : rawUrl.slice(0, qIndex);
    const query = parseQuery(qIndex === -1 ? "" : rawUrl.slice(qIndex + 1));
    const entry: RequestLogEntry = { method, path: rawPath, query: redactQuery(query), status: 0 };
    requests.push(entry);
    const raw = await readBody(req);

    const fault = faults.take(method, rawPath);
    if (fault?.when === "before") {
      if ("stall" in fault) return clientGone(req, res);
      const reply = faultReply(fault.status, fault.retryAfterSeconds);
      entry.status = reply.status;
      send(res, reply.status, reply.body, reply.headers);
      return;
    }

    const API = "/api/v4";
    const matched =
      rawPath === API || rawPath.startsWith(`${API}/`)
        ? matchRoute(method, rawPath.slice(API.length))
        : undefined;
    if (!matched) {
      // API::API catch-all: route :any, '*path' { error!('404 Not Found', 404) }
      entry.status = 404;
      send(res, 404, { error: "404 Not Found" }, {});
      return;
    }
    entry.route = `${matched.r.method} ${matched.r.pattern}`;
    const ctx: Ctx = { method, rawPath, query, params: {}, route: {}, auth: null };
    let status: number;
    let body: unknown;
    let headers: Record<string, string>;
    try {
      const params = parseBody(req, raw);
      ctx.auth = authenticate(req, query, params, matched.r, method);
      for (const [k, v] of Object.entries(matched.params)) {
        if (matched.r.intParams?.includes(k)) {
          if (!/^\d+$/.test(v)) throw grapeError(`${k} is invalid`);
          ctx.route[k] = Number(v);
        } else {
          ctx.route[k] = v;
        }
      }
      ctx.params = { ...query, ...params, ...ctx.route };
      const reply = matched.r.handler(ctx);
      ({ status, body } = reply);
      headers = paginationHeaders.get(ctx) ?? {};
    } catch (err) {
      if (!(err instanceof HttpError)) {
        // Surface programming errors in the fake to the test output.
        console.error("fake-gitlab: handler crashed:", err);
        entry.status = 500;
        send(res, 500, { message: "500 Internal Server Error" }, {});
        return;
      }
      ({ status, body, headers } = err);
    }
    entry.status = status;
    if (fault?.when === "after") {
      entry.applied = status;
      if ("drop" in fault) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      if ("stall" in fault) {
        entry.status = 0;
        return clientGone(req, res);
      }
      if ("status" in fault) {
        const reply = faultReply(fault.status);
        entry.status = reply.status;
        send(res, reply.status, reply.body, reply.headers);
        return;
      }
      await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed || req.socket.destroyed) {
        entry.status = 0;
        return;
      }
    }
    send(res, status, body, headers);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error("fake-gitlab: request failed:", err);
      if (!res.headersSent) send(res, 500, { message: "500 Internal Server Error" }, {});
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake-gitlab: no TCP address");
  core.setBaseUrl(`http://127.0.0.1:${address.port}`);

  const filterRequests = (filter: RequestFilter = {}): RequestLogEntry[] =>
    requests.filter(
      (r) =>
        (!filter.method || r.method === filter.method.toUpperCase()) &&
        (filter.status === undefined || r.status === filter.status) &&
        matchesPattern(r.path, filter.pathPattern),
    );

  return {
    url: core.baseUrl(),
    state,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),

    failNext: (o) =>
      faults.add(o, { when: "before", status: o.status, retryAfterSeconds: o.retryAfterSeconds }),
    answerLate: (o) => faults.add(o, { when: "after", delayMs: o.delayMs }),
    loseAnswer: (o = {}) => faults.add(o, { when: "after", drop: true }),
    failAfterApplying: (o) => faults.add(o, { when: "after", status: o.status }),
    stall: (o = {}) =>
      faults.add(o, o.apply === false ? { when: "before", stall: true } : { when: "after", stall: true }),
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    requestsMatching: filterRequests,
    countRequests: (filter) => filterRequests(filter).length,
    mutatingRequests: (filter = {}) => filterRequests(filter).filter((r) => MUTATING.has(r.method)),
    countMutatingRequests: (filter = {}) =>
      filterRequests(filter).filter((r) => MUTATING.has(r.method)).length,
    clearRequests() {
      requests.length = 0;
    },
    ...createSeeds(core),
  };
}
