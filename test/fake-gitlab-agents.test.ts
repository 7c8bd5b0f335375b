/**
 * The fake GitLab, driven by the real @gitbeaker/rest: cluster agents, their tokens and receptive URL configurations. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): agents, tokens, URL configurations", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("cluster agents", function () {
    it("register / all / show / unregister, by full path", async function () {
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "prod-eu");
      assert.equal(agent.name, "prod-eu");
      assert.equal(agent.config_project.path_with_namespace, SUITE_PATH);
      assert.equal(agent.created_by_user_id, s.maint.id);
      const listed = await api.Agents.all(SUITE_PATH);
      assert.deepEqual(
        listed.map((a) => a.name),
        ["prod-eu"],
      );
      const shown = await api.Agents.show(s.project.id, agent.id);
      assert.equal(shown.id, agent.id);
      await api.Agents.unregister(SUITE_PATH, agent.id);
      assert.deepEqual(await api.Agents.all(SUITE_PATH), []);
      const gone = await httpError(api.Agents.show(SUITE_PATH, agent.id));
      assert.equal(statusOf(gone), 404);
    });

    it("rejects invalid and duplicate names with GitLab's 400 messages", async function () {
      const api = client(s.tokens.maintApi);
      const bad = await httpError(api.Agents.register(SUITE_PATH, "Bad_Name-"));
      assert.equal(statusOf(bad), 400);
      assert.equal(
        bad.cause?.description,
        `400 Bad request - ["Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'"]`,
      );
      const long = await httpError(api.Agents.register(SUITE_PATH, "a".repeat(64)));
      assert.match(long.cause?.description ?? "", /Name is too long \(maximum is 63 characters\)/);
      const agent = await api.Agents.register(SUITE_PATH, "dup");
      const dup = await httpError(api.Agents.register(SUITE_PATH, "dup"));
      assert.equal(statusOf(dup), 400);
      assert.equal(dup.cause?.description, '400 Bad request - ["Name has already been taken"]');
      await api.Agents.unregister(SUITE_PATH, agent.id);
    });

    it("needs Maintainer to register or unregister", async function () {
      const err = await httpError(client(s.tokens.devApi).Agents.register(SUITE_PATH, "from-dev"));
      assert.equal(statusOf(err), 403);
      assert.equal(err.cause?.description, "403 Forbidden");
      // Developers can read.
      assert.deepEqual(await client(s.tokens.devApi).Agents.all(SUITE_PATH), []);
    });

    it("refuses a CI job token (401), as agents.rb has no job_token_allowed", async function () {
      const err = await httpError(
        new Gitlab({ host: s.fake.url, jobToken: s.jobToken }).Agents.all(s.project.id),
      );
      assert.equal(statusOf(err), 401);
      assert.equal(err.cause?.description, "401 Unauthorized");
    });
  });

  describe("agent tokens", function () {
    it("allows two active tokens; the third create is 400 with GitLab's message", async function () {
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "tokens-agent");
      const endpoint = `projects/${encodeURIComponent(SUITE_PATH)}/cluster_agents/${agent.id}/tokens`;
      // Agents.createToken in gitbeaker 43.8.0 sends a GET, so create through the requester.
      const first = await api.Agents.requester.post(endpoint, { body: { name: "t1", description: "first" } });
      assert.equal(first.status, 201);
      const t1 = first.body as Record<string, unknown>;
      assert.match(String(t1.token), /^glagent-[A-Za-z0-9]{50}$/);
      assert.equal(t1.status, "active");
      assert.equal(t1.agent_id, agent.id);
      await api.Agents.requester.post(endpoint, { body: { name: "t2" } });

      const err = await httpError(api.Agents.requester.post(endpoint, { body: { name: "t3" } }));
      assert.equal(statusOf(err), 400);
      assert.equal(
        err.cause?.description,
        "400 Bad request - An agent can have only two active tokens at a time",
      );
      assert.equal(err.message, err.cause?.description);
      assert.equal(err.cause?.response.bodyUsed, true, "gitbeaker has already consumed the body");

      const listed = await api.Agents.allTokens(SUITE_PATH, agent.id);
      assert.deepEqual(
        listed.map((t) => t.name),
        ["t1", "t2"],
      );
      assert.ok(
        listed.every((t) => !("token" in t)),
        "the secret is only in the create response",
      );
      const shown = await api.Agents.showToken(SUITE_PATH, agent.id, Number(t1.id));
      assert.equal(shown.name, "t1");
      assert.equal(shown.last_used_at, null);

      await api.Agents.removeToken(SUITE_PATH, agent.id, Number(t1.id));
      await api.Agents.removeToken(SUITE_PATH, agent.id, Number(t1.id)); // revoking twice is still 204
      assert.equal(statusOf(await httpError(api.Agents.showToken(SUITE_PATH, agent.id, Number(t1.id)))), 404);
      assert.equal((await api.Agents.allTokens(SUITE_PATH, agent.id)).length, 1);
      const again = await api.Agents.requester.post(endpoint, { body: { name: "t3" } });
      assert.equal(again.status, 201);
    });

    it("documents the gitbeaker 43.8.0 trap: Agents.createToken lists instead of creating", async function () {
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "trap-agent");
      const before = s.fake.state.agentTokens.length;
      const result: unknown = await api.Agents.createToken(SUITE_PATH, agent.id, "never-created");
      assert.ok(Array.isArray(result));
      assert.equal(s.fake.state.agentTokens.length, before);
      const last = s.fake.requests[s.fake.requests.length - 1];
      assert.equal(last.method, "GET");
      assert.equal(last.query.name, "never-created");
    });
  });

  describe("receptive agent URL configurations", function () {
    it("404 unless receptive agents are enabled; one JWT configuration per agent", async function () {
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "receptive");
      const endpoint = `projects/${s.project.id}/cluster_agents/${agent.id}/url_configurations`;
      s.fake.state.instance.receptiveAgentsEnabled = false;
      const off = await httpError(api.Agents.requester.get(endpoint));
      assert.equal(statusOf(off), 404);
      assert.equal(off.cause?.description, "404 Not Found");

      s.fake.state.instance.receptiveAgentsEnabled = true;
      try {
        const createdRes = await api.Agents.requester.post(endpoint, {
          body: { url: "grpcs://agent.example.test:443" },
        });
        assert.equal(createdRes.status, 201);
        const cfg = createdRes.body as Record<string, unknown>;
        assert.equal(Buffer.from(String(cfg.public_key), "base64").length, 32, "raw Ed25519 key, Base64");
        assert.equal(cfg.client_cert, null);
        const dup = await httpError(api.Agents.requester.post(endpoint, { body: { url: "grpc://x:1" } }));
        assert.equal(
          dup.cause?.description,
          "400 Bad request - URL configuration already exists for this agent",
        );
        const list = await api.Agents.requester.get(endpoint);
        assert.deepEqual(
          (list.body as { id: number }[]).map((c) => c.id),
          [cfg.id],
        );
        const del = await api.Agents.requester.delete(`${endpoint}/${String(cfg.id)}`);
        assert.equal(del.status, 204);
        const bad = await httpError(api.Agents.requester.post(endpoint, { body: { url: "https://nope" } }));
        assert.equal(statusOf(bad), 400);
      } finally {
        s.fake.state.instance.receptiveAgentsEnabled = false;
      }
    });
  });
});
