/**
 * The fake GitLab, driven by the real @gitbeaker/rest: the fault layer (before and after applying) with gitbeaker's own retries, and the request log. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab, GitbeakerRetryError } from "@gitbeaker/rest";
import type { FakeGitlab } from "./support/fake-gitlab";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";
import type { FakeSuite } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): faults and the request log", function () {
  const suite = fakeSuite();
  let fake: FakeGitlab;
  let tokens: FakeSuite["tokens"];
  let jobToken: string;
  before(function () {
    ({ fake, tokens, jobToken } = suite);
  });
  const PATH = SUITE_PATH;
  const client = (token: string) => new Gitlab({ host: fake.url, token });

  describe("fault injection and retries", function () {
    it("429 then success, seen with fetch", async function () {
      fake.failNext({ pathPattern: "/metadata", status: 429, retryAfterSeconds: 7 });
      const headers = { "PRIVATE-TOKEN": tokens.maintApi };
      const first = await fetch(`${fake.url}/api/v4/metadata`, { headers });
      assert.equal(first.status, 429);
      assert.equal(first.headers.get("retry-after"), "7");
      assert.equal((await first.text()).trim(), "Retry later");
      const second = await fetch(`${fake.url}/api/v4/metadata`, { headers });
      assert.equal(second.status, 200);
      assert.equal(fake.pendingFaults(), 0);
    });

    it("502 then success, seen with fetch; times > 1", async function () {
      fake.failNext({ method: "GET", pathPattern: /\/user$/, status: 502, times: 2 });
      const headers = { "PRIVATE-TOKEN": tokens.maintApi };
      assert.equal((await fetch(`${fake.url}/api/v4/user`, { headers })).status, 502);
      assert.equal(
        (await fetch(`${fake.url}/api/v4/metadata`, { headers })).status,
        200,
        "other paths unaffected",
      );
      assert.equal((await fetch(`${fake.url}/api/v4/user`, { headers })).status, 502);
      assert.equal((await fetch(`${fake.url}/api/v4/user`, { headers })).status, 200);
    });

    it("gitbeaker silently retries one 429/502 but not 500/503", async function () {
      const api = client(tokens.maintApi);
      fake.clearRequests();
      fake.failNext({ pathPattern: "/metadata", status: 502 });
      fake.failNext({ pathPattern: "/metadata", status: 429 });
      const md = await api.Metadata.show();
      assert.equal(md.version, "17.6.2-ee");
      assert.deepEqual(
        fake.requests.map((r) => r.status),
        [502, 429, 200],
      );

      fake.failNext({ pathPattern: "/metadata", status: 503 });
      const err = await httpError(api.Metadata.show());
      assert.equal(statusOf(err), 503);
      fake.failNext({ pathPattern: "/metadata", status: 500 });
      const err500 = await httpError(api.Metadata.show());
      assert.equal(err500.cause?.description, "500 Internal Server Error");
    });

    it("gitbeaker gives up after 10 attempts of 429 with GitbeakerRetryError", async function () {
      fake.failNext({ pathPattern: "/metadata", status: 429, times: 10 });
      fake.clearRequests();
      await assert.rejects(client(tokens.maintApi).Metadata.show(), (err: unknown) => {
        assert.ok(err instanceof GitbeakerRetryError);
        assert.match((err as Error).message, /after 10 retries, last status code: 429/);
        return true;
      });
      assert.equal(fake.requests.length, 10);
    });
  });

  describe("faults after applying: GitLab committed, the client learns nothing or something wrong", function () {
    const post = (name: string) =>
      fetch(`${fake.url}/api/v4/projects/${encodeURIComponent(PATH)}/cluster_agents`, {
        method: "POST",
        headers: { "private-token": tokens.maintApi, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
    const agentNamed = (name: string) => fake.state.agents.filter((a) => a.name === name).length;

    it("loseAnswer: the agent is registered, the connection closes without an answer", async function () {
      fake.clearRequests();
      fake.loseAnswer({ method: "POST", pathPattern: /cluster_agents$/ });
      await assert.rejects(post("lost-1"), TypeError);
      assert.equal(agentNamed("lost-1"), 1);
      assert.deepEqual([fake.requests[0].status, fake.requests[0].applied], [0, 201]);
      assert.equal(fake.pendingFaults(), 0);
    });

    it("failAfterApplying: a proxy's 502/504 page although the agent was registered", async function () {
      for (const status of [502, 504] as const) {
        fake.clearRequests();
        fake.failAfterApplying({ method: "POST", pathPattern: /cluster_agents$/, status });
        const r = await post(`proxied-${status}`);
        assert.equal(r.status, status);
        assert.match(r.headers.get("content-type") ?? "", /text\/html/);
        assert.equal(agentNamed(`proxied-${status}`), 1);
        assert.deepEqual([fake.requests[0].status, fake.requests[0].applied], [status, 201]);
      }
    });

    it("stall: no answer until the client gives up; applied by default, not with apply: false", async function () {
      for (const apply of [true, false]) {
        fake.clearRequests();
        fake.stall({ method: "POST", pathPattern: /cluster_agents$/, apply });
        const controller = new AbortController();
        const sent = fetch(`${fake.url}/api/v4/projects/${encodeURIComponent(PATH)}/cluster_agents`, {
          method: "POST",
          headers: { "private-token": tokens.maintApi, "content-type": "application/json" },
          body: JSON.stringify({ name: `stalled-${apply}` }),
          signal: controller.signal,
        });
        // Wait (without a timer) until the fake holds the request, then give up as a client timeout does.
        const held = () => (apply ? agentNamed(`stalled-${apply}`) === 1 : fake.pendingFaults() === 0);
        while (!held()) await new Promise((r) => setImmediate(r));
        controller.abort();
        await assert.rejects(sent, { name: "AbortError" });
        assert.equal(agentNamed(`stalled-${apply}`), apply ? 1 : 0);
      }
    });

    it("a 503 says Retry-After only when asked to", async function () {
      fake.failNext({ pathPattern: "/metadata", status: 503 });
      assert.equal((await fetch(`${fake.url}/api/v4/metadata`)).headers.get("retry-after"), null);
      fake.failNext({ pathPattern: "/metadata", status: 503, retryAfterSeconds: 30 });
      assert.equal((await fetch(`${fake.url}/api/v4/metadata`)).headers.get("retry-after"), "30");
    });
  });

  describe("request log", function () {
    it("records method/path/query/status, counts mutations, never records token values", async function () {
      fake.clearRequests();
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "logged");
      await api.Agents.all(PATH);
      await api.Agents.unregister(PATH, agent.id);
      await fetch(`${fake.url}/api/v4/user?private_token=${tokens.maintApi}`);
      assert.equal(fake.countMutatingRequests(), 2);
      assert.equal(fake.countMutatingRequests({ pathPattern: "/cluster_agents", status: 201 }), 1);
      assert.deepEqual(fake.requests[0], {
        method: "POST",
        path: "/api/v4/projects/platform%2Finfra%2Fagents/cluster_agents",
        query: {},
        status: 201,
        route: "POST /projects/:id/cluster_agents",
      });
      assert.equal(fake.requests[3].query.private_token, "[REDACTED]");
      assert.equal(fake.requests[3].status, 200);
      const log = JSON.stringify(fake.requests);
      for (const secret of [...Object.values(tokens), jobToken]) assert.ok(!log.includes(secret));
    });
  });
});
