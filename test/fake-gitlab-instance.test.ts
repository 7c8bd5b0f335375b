/**
 * The fake GitLab, driven by the real @gitbeaker/rest: the instance and the token's identity, and pagination. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): instance, identity, pagination", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("instance and identity", function () {
    it("Metadata.show returns version and kas", async function () {
      const md = await client(s.tokens.maintReadApi).Metadata.show();
      assert.equal(md.version, "17.6.2-ee");
      assert.equal(md.enterprise, true);
      assert.deepEqual(md.kas, {
        enabled: true,
        externalUrl: "wss://kas.example.test",
        externalK8sProxyUrl: "https://kas.gitlab.example.com/k8s-proxy",
        version: "17.6.2",
      });
    });

    it("GET /version through the raw requester", async function () {
      const res = await client(s.tokens.maintApi).Metadata.requester.get("version");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { version: "17.6.2-ee", revision: s.fake.state.instance.revision });
    });

    it("PersonalAccessTokens.show() reads /personal_access_tokens/self", async function () {
      const self = await client(s.tokens.maintApi).PersonalAccessTokens.show();
      assert.equal(self.name, "ci");
      assert.deepEqual(self.scopes, ["api"]);
      assert.equal(self.active, true);
      assert.equal(self.expires_at, "2099-01-31");
      assert.equal(typeof self.id, "number");
      // Any scope may read itself.
      const runnerOnly = await client(s.tokens.maintCreateRunner).PersonalAccessTokens.show();
      assert.deepEqual(runnerOnly.scopes, ["create_runner"]);
    });

    it("Users.showCurrentUser reads /user", async function () {
      const me = await client(s.tokens.admin).Users.showCurrentUser();
      assert.equal(me.username, "root");
      assert.equal(me.is_admin, true);
    });

    it("an unknown token gets 401 {message: '401 Unauthorized'}", async function () {
      const err = await httpError(client("glpat-notreal").Metadata.show());
      assert.equal(statusOf(err), 401);
      assert.equal(err.cause?.description, "401 Unauthorized");
      assert.equal(err.message, "401 Unauthorized");
    });

    it("a revoked token gets GitLab's invalid_token answer", async function () {
      const revoked = s.fake.addToken({ userId: s.maint.id, scopes: ["api"], revoked: true }).token;
      const res = await fetch(`${s.fake.url}/api/v4/user`, { headers: { "PRIVATE-TOKEN": revoked } });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), {
        error: "invalid_token",
        error_description: "Token was revoked. You have to re-authorize from the user.",
      });
    });

    it("a missing scope gets 403 insufficient_scope", async function () {
      const res = await fetch(`${s.fake.url}/api/v4/projects/${s.project.id}/cluster_agents`, {
        method: "POST",
        headers: { "PRIVATE-TOKEN": s.tokens.maintReadApi, "content-type": "application/json" },
        body: JSON.stringify({ name: "x" }),
      });
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), {
        error: "insufficient_scope",
        error_description: "The request requires higher privileges than provided by the access token.",
        scope: "api",
      });
    });

    it("Projects and Groups resolve numeric ids and URL-encoded full paths", async function () {
      const api = client(s.tokens.maintReadApi);
      const byPath = await api.Projects.show(SUITE_PATH);
      const byId = await api.Projects.show(s.project.id);
      assert.equal(byPath.id, s.project.id);
      assert.equal(byId.path_with_namespace, SUITE_PATH);
      assert.equal(
        s.fake.requests.some((r) => r.path === "/api/v4/projects/platform%2Finfra%2Fagents"),
        true,
      );
      const group = await api.Groups.show("platform/infra");
      assert.equal(group.full_path, "platform/infra");
    });

    it("a project the user cannot see is 404 Project Not Found", async function () {
      const err = await httpError(client(s.tokens.outsiderApi).Projects.show(SUITE_PATH));
      assert.equal(statusOf(err), 404);
      assert.equal(err.cause?.description, "404 Project Not Found");
    });

    it("an unknown route is GitLab's catch-all 404", async function () {
      const res = await fetch(`${s.fake.url}/api/v4/no/such/thing`, {
        headers: { "PRIVATE-TOKEN": s.tokens.admin },
      });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: "404 Not Found" });
    });
  });

  describe("pagination", function () {
    it("gitbeaker's all() follows Link rel=next across 3 pages", async function () {
      const p = s.fake.addProject({ path: "many-agents", groupId: s.project.groupId });
      for (let i = 0; i < 45; i++)
        s.fake.addAgent({ projectId: p.id, name: `agent-${String(i).padStart(2, "0")}` });
      s.fake.clearRequests();
      const agents = await client(s.tokens.maintReadApi).Agents.all(p.id);
      assert.equal(agents.length, 45);
      assert.equal(agents[0].name, "agent-00");
      assert.equal(agents[44].name, "agent-44");
      assert.deepEqual(
        s.fake.requests.map((r) => r.query.page ?? "1"),
        ["1", "2", "3"],
      );
    });

    it("showExpanded, pagination: 'offset' and maxPages", async function () {
      const p = s.fake.addProject({ path: "many-envs", groupId: s.project.groupId });
      for (let i = 1; i <= 5; i++) s.fake.addEnvironment({ projectId: p.id, name: `env-${i}` });
      const api = client(s.tokens.maintReadApi);
      const expanded = await api.Environments.all(p.id, {
        perPage: 2,
        showExpanded: true,
        pagination: "offset",
      });
      assert.equal(expanded.data.length, 5);
      assert.deepEqual(expanded.paginationInfo, {
        total: 5,
        next: null,
        current: 3,
        previous: 2,
        perPage: 2,
        totalPages: 3,
      });
      const capped = await api.Environments.all(p.id, { perPage: 2, maxPages: 2 });
      assert.equal(capped.length, 4);
      const single = await api.Environments.all(p.id, { perPage: 2, page: 2 });
      assert.deepEqual(
        single.map((e) => e.name),
        ["env-3", "env-4"],
      );
    });

    it("sets GitLab's headers and Link format", async function () {
      const p = s.fake.state.projects.find((x) => x.path === "many-envs")!;
      const res = await fetch(
        `${s.fake.url}/api/v4/projects/${p.id}/environments?per_page=2&page=2&states=available`,
        {
          headers: { "PRIVATE-TOKEN": s.tokens.maintReadApi },
        },
      );
      assert.equal(res.headers.get("x-page"), "2");
      assert.equal(res.headers.get("x-per-page"), "2");
      assert.equal(res.headers.get("x-next-page"), "3");
      assert.equal(res.headers.get("x-prev-page"), "1");
      assert.equal(res.headers.get("x-total"), "5");
      assert.equal(res.headers.get("x-total-pages"), "3");
      const base = `${s.fake.url}/api/v4/projects/${p.id}/environments`;
      assert.equal(
        res.headers.get("link"),
        [
          `<${base}?page=1&per_page=2&states=available>; rel="prev"`,
          `<${base}?page=3&per_page=2&states=available>; rel="next"`,
          `<${base}?page=1&per_page=2&states=available>; rel="first"`,
          `<${base}?page=3&per_page=2&states=available>; rel="last"`,
        ].join(", "),
      );
      const capped = await fetch(`${s.fake.url}/api/v4/projects/${p.id}/environments?per_page=500`, {
        headers: { "PRIVATE-TOKEN": s.tokens.maintReadApi },
      });
      assert.equal(capped.headers.get("x-per-page"), "100");
    });
  });
});
