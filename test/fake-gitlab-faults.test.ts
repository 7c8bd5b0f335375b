/**
 * The fake GitLab, driven by the real @gitbeaker/rest: the fault layer (before and after applying) with gitbeaker's own retries, and the request log. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab, GitbeakerRetryError } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): faults and the request log", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("fault injection and retries", function () {
    it("429 then success, seen with fetch", async function () {
      s.fake.failNext({ pathPattern: "/metadata", status: 429, retryAfterSeconds: 7 });
      const headers = { "PRIVATE-TOKEN": s.tokens.maintApi };
      const first = await fetch(`${s.fake.url}/api/v4/metadata`, { headers });
      assert.equal(first.status, 429);
      assert.equal(first.headers.get("retry-after"), "7");
      assert.equal((await first.text()).trim(), "Retry later");
      const second = await fetch(`${s.fake.url}/api/v4/metadata`, { headers });
      assert.equal(second.status, 200);
      assert.equal(s.fake.pendingFaults(), 0);
    });

    it("502 then success, seen with fetch; times > 1", async function () {
      s.fake.failNext({ method: "GET", pathPattern: /\/user$/, status: 502, times: 2 });
      const headers = { "PRIVATE-TOKEN": s.tokens.maintApi };
      assert.equal((await fetch(`${s.fake.url}/api/v4/user`, { headers })).status, 502);
      assert.equal(
        (await fetch(`${s.fake.url}/api/v4/metadata`, { headers })).status,
        200,
        "other paths unaffected",
      );
      assert.equal((await fetch(`${s.fake.url}/api/v4/user`, { headers })).status, 502);
      assert.equal((await fetch(`${s.fake.url}/api/v4/user`, { headers })).status, 200);
    });

    it("gitbeaker silently retries one 429/502 but not 500/503", async function () {
      const api = client(s.tokens.maintApi);
      s.fake.clearRequests();
      s.fake.failNext({ pathPattern: "/metadata", status: 502 });
      s.fake.failNext({ pathPattern: "/metadata", status: 429 });
      const md = await api.Metadata.show();
      assert.equal(md.version, "17.6.2-ee");
      assert.deepEqual(
        s.fake.requests.map((r) => r.status),
        [502, 429, 200],
      );

      s.fake.failNext({ pathPattern: "/metadata", status: 503 });
      const err = await httpError(api.Metadata.show());
      assert.equal(statusOf(err), 503);
      s.fake.failNext({ pathPattern: "/metadata", status: 500 });
      const err500 = await httpError(api.Metadata.show());
      assert.equal(err500.cause?.description, "500 Internal Server Error");
    });

    it("gitbeaker gives up after 10 attempts of 429 with GitbeakerRetryError", async function () {
      s.fake.failNext({ pathPattern: "/metadata", status: 429, times: 10 });
      s.fake.clearRequests();
      await assert.rejects(client(s.tokens.maintApi).Metadata.show(), (err: unknown) => {
        assert.ok(err instanceof GitbeakerRetryError);
        assert.match((err as Error).message, /after 10 retries, last status code: 429/);
        return true;
      });
      assert.equal(s.fake.requests.length, 10);
    });
  });

  describe("faults after applying: GitLab committed, the client learns nothing or something wrong", function () {
    const post = (name: string) =>
      fetch(`${s.fake.url}/api/v4/projects/${encodeURIComponent(SUITE_PATH)}/cluster_agents`, {
        method: "POST",
        headers: { "private-token": s.tokens.maintApi, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
    const agentNamed = (name: string) => s.fake.state.agents.filter((a) => a.name === name).length;

    it("loseAnswer: the agent is registered, the connection closes without an answer", async function () {
      s.fake.clearRequests();
      s.fake.loseAnswer({ method: "POST", pathPattern: /cluster_agents$/ });
      await assert.rejects(post("lost-1"), TypeError);
      assert.equal(agentNamed("lost-1"), 1);
      assert.deepEqual([s.fake.requests[0].status, s.fake.requests[0].applied], [0, 201]);
      assert.equal(s.fake.pendingFaults(), 0);
    });

    it("failAfterApplying: a proxy's 502/504 page although the agent was registered", async function () {
      for (const status of [502, 504] as const) {
        s.fake.clearRequests();
        s.fake.failAfterApplying({ method: "POST", pathPattern: /cluster_agents$/, status });
        const r = await post(`proxied-${status}`);
        assert.equal(r.status, status);
        assert.match(r.headers.get("content-type") ?? "", /text\/html/);
        assert.equal(agentNamed(`proxied-${status}`), 1);
        assert.deepEqual([s.fake.requests[0].status, s.fake.requests[0].applied], [status, 201]);
      }
    });

    it("stall: no answer until the client gives up; applied by default, not with apply: false", async function () {
      for (const apply of [true, false]) {
        s.fake.clearRequests();
        s.fake.stall({ method: "POST", pathPattern: /cluster_agents$/, apply });
        const controller = new AbortController();
        const sent = fetch(`${s.fake.url}/api/v4/projects/${encodeURIComponent(SUITE_PATH)}/cluster_agents`, {
          method: "POST",
          headers: { "private-token": s.tokens.maintApi, "content-type": "application/json" },
          body: JSON.stringify({ name: `stalled-${apply}` }),
          signal: controller.signal,
        });
        // Wait (without a timer) until the fake holds the request, then give up as a client timeout does.
        const held = () => (apply ? agentNamed(`stalled-${apply}`) === 1 : s.fake.pendingFaults() === 0);
        while (!held()) await new Promise((r) => setImmediate(r));
        controller.abort();
        await assert.rejects(sent, { name: "AbortError" });
        assert.equal(agentNamed(`stalled-${apply}`), apply ? 1 : 0);
      }
    });

    it("a 503 says Retry-After only when asked to", async function () {
      s.fake.failNext({ pathPattern: "/metadata", status: 503 });
      assert.equal((await fetch(`${s.fake.url}/api/v4/metadata`)).headers.get("retry-after"), null);
      s.fake.failNext({ pathPattern: "/metadata", status: 503, retryAfterSeconds: 30 });
      assert.equal((await fetch(`${s.fake.url}/api/v4/metadata`)).headers.get("retry-after"), "30");
    });
  });

  describe("request log", function () {
    it("records method/path/query/status, counts mutations, never records token values", async function () {
      s.fake.clearRequests();
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "logged");
      await api.Agents.all(SUITE_PATH);
      await api.Agents.unregister(SUITE_PATH, agent.id);
      await fetch(`${s.fake.url}/api/v4/user?private_token=${s.tokens.maintApi}`);
      assert.equal(s.fake.countMutatingRequests(), 2);
      assert.equal(s.fake.countMutatingRequests({ pathPattern: "/cluster_agents", status: 201 }), 1);
      assert.deepEqual(s.fake.requests[0], {
        method: "POST",
        path: "/api/v4/projects/platform%2Finfra%2Fagents/cluster_agents",
        query: {},
        status: 201,
        route: "POST /projects/:id/cluster_agents",
      });
      assert.equal(s.fake.requests[3].query.private_token, "[REDACTED]");
      assert.equal(s.fake.requests[3].status, 200);
      const log = JSON.stringify(s.fake.requests);
      for (const secret of [...Object.values(s.tokens), s.jobToken]) assert.ok(!log.includes(secret));
    });
  });
});
