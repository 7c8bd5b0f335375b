import * as assert from "node:assert/strict";
import { Gitlab, GitbeakerRequestError, GitbeakerRetryError } from "@gitbeaker/rest";
import { AccessLevel, startFakeGitlab } from "./support/fake-gitlab";
import type { FakeGitlab, FakeProject, FakeUser } from "./support/fake-gitlab";

/** Awaits `p`, expecting gitbeaker to throw an HTTP error; returns it. */
async function httpError(p: Promise<unknown>): Promise<GitbeakerRequestError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GitbeakerRequestError, `expected GitbeakerRequestError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the request to fail");
}

function statusOf(err: GitbeakerRequestError): number | undefined {
  return err.cause?.response.status;
}

describe("fake GitLab (driven by real @gitbeaker/rest)", function () {
  let fake: FakeGitlab;
  let admin: FakeUser;
  let maint: FakeUser;
  let dev: FakeUser;
  let outsider: FakeUser;
  let project: FakeProject; // platform/infra/agents
  let tokens: Record<
    | "admin"
    | "maintApi"
    | "maintReadApi"
    | "maintCreateRunner"
    | "maintManageRunner"
    | "devApi"
    | "outsiderApi",
    string
  >;
  let jobToken: string;
  const PATH = "platform/infra/agents";

  const client = (token: string) => new Gitlab({ host: fake.url, token });

  before(async function () {
    fake = await startFakeGitlab({
      instance: { version: "17.6.2-ee", kas: { version: "17.6.2", externalUrl: "wss://kas.example.test" } },
    });
    admin = fake.addUser({ username: "root", isAdmin: true });
    maint = fake.addUser({ username: "maint" });
    dev = fake.addUser({ username: "dev" });
    outsider = fake.addUser({ username: "outsider" });
    const platform = fake.addGroup({ path: "platform", members: { [maint.id]: AccessLevel.OWNER } });
    const infra = fake.addGroup({ path: "infra", parentId: platform.id });
    project = fake.addProject({
      path: "agents",
      groupId: infra.id,
      members: { [dev.id]: AccessLevel.DEVELOPER },
    });
    tokens = {
      admin: fake.addToken({ userId: admin.id, scopes: ["api"] }).token,
      maintApi: fake.addToken({ userId: maint.id, scopes: ["api"], name: "ci", expiresAt: "2099-01-31" })
        .token,
      maintReadApi: fake.addToken({ userId: maint.id, scopes: ["read_api"] }).token,
      maintCreateRunner: fake.addToken({ userId: maint.id, scopes: ["create_runner"] }).token,
      maintManageRunner: fake.addToken({ userId: maint.id, scopes: ["manage_runner"] }).token,
      devApi: fake.addToken({ userId: dev.id, scopes: ["api"] }).token,
      outsiderApi: fake.addToken({ userId: outsider.id, scopes: ["api"] }).token,
    };
    jobToken = fake.addJobToken({ userId: dev.id, projectId: project.id }).token;
  });

  after(async function () {
    await fake.close();
  });

  afterEach(function () {
    fake.clearFaults();
  });

  describe("instance and identity", function () {
    it("Metadata.show returns version and kas", async function () {
      const md = await client(tokens.maintReadApi).Metadata.show();
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
      const res = await client(tokens.maintApi).Metadata.requester.get("version");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { version: "17.6.2-ee", revision: fake.state.instance.revision });
    });

    it("PersonalAccessTokens.show() reads /personal_access_tokens/self", async function () {
      const self = await client(tokens.maintApi).PersonalAccessTokens.show();
      assert.equal(self.name, "ci");
      assert.deepEqual(self.scopes, ["api"]);
      assert.equal(self.active, true);
      assert.equal(self.expires_at, "2099-01-31");
      assert.equal(typeof self.id, "number");
      // Any scope may read itself.
      const runnerOnly = await client(tokens.maintCreateRunner).PersonalAccessTokens.show();
      assert.deepEqual(runnerOnly.scopes, ["create_runner"]);
    });

    it("Users.showCurrentUser reads /user", async function () {
      const me = await client(tokens.admin).Users.showCurrentUser();
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
      const revoked = fake.addToken({ userId: maint.id, scopes: ["api"], revoked: true }).token;
      const res = await fetch(`${fake.url}/api/v4/user`, { headers: { "PRIVATE-TOKEN": revoked } });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), {
        error: "invalid_token",
        error_description: "Token was revoked. You have to re-authorize from the user.",
      });
    });

    it("a missing scope gets 403 insufficient_scope", async function () {
      const res = await fetch(`${fake.url}/api/v4/projects/${project.id}/cluster_agents`, {
        method: "POST",
        headers: { "PRIVATE-TOKEN": tokens.maintReadApi, "content-type": "application/json" },
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
      const api = client(tokens.maintReadApi);
      const byPath = await api.Projects.show(PATH);
      const byId = await api.Projects.show(project.id);
      assert.equal(byPath.id, project.id);
      assert.equal(byId.path_with_namespace, PATH);
      assert.equal(
        fake.requests.some((r) => r.path === "/api/v4/projects/platform%2Finfra%2Fagents"),
        true,
      );
      const group = await api.Groups.show("platform/infra");
      assert.equal(group.full_path, "platform/infra");
    });

    it("a project the user cannot see is 404 Project Not Found", async function () {
      const err = await httpError(client(tokens.outsiderApi).Projects.show(PATH));
      assert.equal(statusOf(err), 404);
      assert.equal(err.cause?.description, "404 Project Not Found");
    });

    it("an unknown route is GitLab's catch-all 404", async function () {
      const res = await fetch(`${fake.url}/api/v4/no/such/thing`, {
        headers: { "PRIVATE-TOKEN": tokens.admin },
      });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: "404 Not Found" });
    });
  });

  describe("cluster agents", function () {
    it("register / all / show / unregister, by full path", async function () {
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "prod-eu");
      assert.equal(agent.name, "prod-eu");
      assert.equal(agent.config_project.path_with_namespace, PATH);
      assert.equal(agent.created_by_user_id, maint.id);
      const listed = await api.Agents.all(PATH);
      assert.deepEqual(
        listed.map((a) => a.name),
        ["prod-eu"],
      );
      const shown = await api.Agents.show(project.id, agent.id);
      assert.equal(shown.id, agent.id);
      await api.Agents.unregister(PATH, agent.id);
      assert.deepEqual(await api.Agents.all(PATH), []);
      const gone = await httpError(api.Agents.show(PATH, agent.id));
      assert.equal(statusOf(gone), 404);
    });

    it("rejects invalid and duplicate names with GitLab's 400 messages", async function () {
      const api = client(tokens.maintApi);
      const bad = await httpError(api.Agents.register(PATH, "Bad_Name-"));
      assert.equal(statusOf(bad), 400);
      assert.equal(
        bad.cause?.description,
        `400 Bad request - ["Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'"]`,
      );
      const long = await httpError(api.Agents.register(PATH, "a".repeat(64)));
      assert.match(long.cause?.description ?? "", /Name is too long \(maximum is 63 characters\)/);
      const agent = await api.Agents.register(PATH, "dup");
      const dup = await httpError(api.Agents.register(PATH, "dup"));
      assert.equal(statusOf(dup), 400);
      assert.equal(dup.cause?.description, '400 Bad request - ["Name has already been taken"]');
      await api.Agents.unregister(PATH, agent.id);
    });

    it("needs Maintainer to register or unregister", async function () {
      const err = await httpError(client(tokens.devApi).Agents.register(PATH, "from-dev"));
      assert.equal(statusOf(err), 403);
      assert.equal(err.cause?.description, "403 Forbidden");
      // Developers can read.
      assert.deepEqual(await client(tokens.devApi).Agents.all(PATH), []);
    });

    it("refuses a CI job token (401), as agents.rb has no job_token_allowed", async function () {
      const err = await httpError(new Gitlab({ host: fake.url, jobToken }).Agents.all(project.id));
      assert.equal(statusOf(err), 401);
      assert.equal(err.cause?.description, "401 Unauthorized");
    });
  });

  describe("agent tokens", function () {
    it("allows two active tokens; the third create is 400 with GitLab's message", async function () {
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "tokens-agent");
      const endpoint = `projects/${encodeURIComponent(PATH)}/cluster_agents/${agent.id}/tokens`;
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

      const listed = await api.Agents.allTokens(PATH, agent.id);
      assert.deepEqual(
        listed.map((t) => t.name),
        ["t1", "t2"],
      );
      assert.ok(
        listed.every((t) => !("token" in t)),
        "the secret is only in the create response",
      );
      const shown = await api.Agents.showToken(PATH, agent.id, Number(t1.id));
      assert.equal(shown.name, "t1");
      assert.equal(shown.last_used_at, null);

      await api.Agents.removeToken(PATH, agent.id, Number(t1.id));
      await api.Agents.removeToken(PATH, agent.id, Number(t1.id)); // revoking twice is still 204
      assert.equal(statusOf(await httpError(api.Agents.showToken(PATH, agent.id, Number(t1.id)))), 404);
      assert.equal((await api.Agents.allTokens(PATH, agent.id)).length, 1);
      const again = await api.Agents.requester.post(endpoint, { body: { name: "t3" } });
      assert.equal(again.status, 201);
    });

    it("documents the gitbeaker 43.8.0 trap: Agents.createToken lists instead of creating", async function () {
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "trap-agent");
      const before = fake.state.agentTokens.length;
      const result: unknown = await api.Agents.createToken(PATH, agent.id, "never-created");
      assert.ok(Array.isArray(result));
      assert.equal(fake.state.agentTokens.length, before);
      const last = fake.requests[fake.requests.length - 1];
      assert.equal(last.method, "GET");
      assert.equal(last.query.name, "never-created");
    });
  });

  describe("receptive agent URL configurations", function () {
    it("404 unless receptive agents are enabled; one JWT configuration per agent", async function () {
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "receptive");
      const endpoint = `projects/${project.id}/cluster_agents/${agent.id}/url_configurations`;
      fake.state.instance.receptiveAgentsEnabled = false;
      const off = await httpError(api.Agents.requester.get(endpoint));
      assert.equal(statusOf(off), 404);
      assert.equal(off.cause?.description, "404 Not Found");

      fake.state.instance.receptiveAgentsEnabled = true;
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
        fake.state.instance.receptiveAgentsEnabled = false;
      }
    });
  });

  describe("pagination", function () {
    it("gitbeaker's all() follows Link rel=next across 3 pages", async function () {
      const p = fake.addProject({ path: "many-agents", groupId: project.groupId });
      for (let i = 0; i < 45; i++)
        fake.addAgent({ projectId: p.id, name: `agent-${String(i).padStart(2, "0")}` });
      fake.clearRequests();
      const agents = await client(tokens.maintReadApi).Agents.all(p.id);
      assert.equal(agents.length, 45);
      assert.equal(agents[0].name, "agent-00");
      assert.equal(agents[44].name, "agent-44");
      assert.deepEqual(
        fake.requests.map((r) => r.query.page ?? "1"),
        ["1", "2", "3"],
      );
    });

    it("showExpanded, pagination: 'offset' and maxPages", async function () {
      const p = fake.addProject({ path: "many-envs", groupId: project.groupId });
      for (let i = 1; i <= 5; i++) fake.addEnvironment({ projectId: p.id, name: `env-${i}` });
      const api = client(tokens.maintReadApi);
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
      const p = fake.state.projects.find((x) => x.path === "many-envs")!;
      const res = await fetch(
        `${fake.url}/api/v4/projects/${p.id}/environments?per_page=2&page=2&states=available`,
        {
          headers: { "PRIVATE-TOKEN": tokens.maintReadApi },
        },
      );
      assert.equal(res.headers.get("x-page"), "2");
      assert.equal(res.headers.get("x-per-page"), "2");
      assert.equal(res.headers.get("x-next-page"), "3");
      assert.equal(res.headers.get("x-prev-page"), "1");
      assert.equal(res.headers.get("x-total"), "5");
      assert.equal(res.headers.get("x-total-pages"), "3");
      const base = `${fake.url}/api/v4/projects/${p.id}/environments`;
      assert.equal(
        res.headers.get("link"),
        [
          `<${base}?page=1&per_page=2&states=available>; rel="prev"`,
          `<${base}?page=3&per_page=2&states=available>; rel="next"`,
          `<${base}?page=1&per_page=2&states=available>; rel="first"`,
          `<${base}?page=3&per_page=2&states=available>; rel="last"`,
        ].join(", "),
      );
      const capped = await fetch(`${fake.url}/api/v4/projects/${p.id}/environments?per_page=500`, {
        headers: { "PRIVATE-TOKEN": tokens.maintReadApi },
      });
      assert.equal(capped.headers.get("x-per-page"), "100");
    });
  });

  describe("repository files", function () {
    const FILE = ".gitlab/agents/prod-eu/config.yaml";

    it("create / show / edit, with GitLab's errors, and counts commits", async function () {
      const api = client(tokens.maintApi);
      const commitsBefore = fake.commitsFor(project.id, "main").length;
      const made = await api.RepositoryFiles.create(
        PATH,
        FILE,
        "main",
        "user_access: {}\n",
        "Add agent config",
      );
      assert.deepEqual(made, { file_path: FILE, branch: "main" });
      assert.equal(fake.requests[fake.requests.length - 1].path.includes(encodeURIComponent(FILE)), true);

      const shown = await api.RepositoryFiles.show(PATH, FILE, "main");
      assert.equal(Buffer.from(shown.content, "base64").toString("utf8"), "user_access: {}\n");
      assert.equal(shown.encoding, "base64");
      assert.equal(shown.file_name, "config.yaml");
      assert.match(shown.content_sha256, /^[0-9a-f]{64}$/);
      assert.match(shown.blob_id, /^[0-9a-f]{40}$/);
      assert.equal(shown.last_commit_id, fake.commitsFor(project.id, "main").at(-1)?.id);

      const exists = await httpError(api.RepositoryFiles.create(PATH, FILE, "main", "x", "again"));
      assert.equal(statusOf(exists), 400);
      assert.equal(exists.cause?.description, "A file with this name already exists");

      await api.RepositoryFiles.edit(PATH, FILE, "main", "user_access: {agent: {}}\n", "Update", {
        lastCommitId: shown.last_commit_id,
      });
      assert.equal(fake.readFile(project.id, "main", FILE), "user_access: {agent: {}}\n");
      const stale = await httpError(
        api.RepositoryFiles.edit(PATH, FILE, "main", "z", "stale", { lastCommitId: shown.last_commit_id }),
      );
      assert.equal(
        stale.cause?.description,
        "You are attempting to update a file that has changed since you started editing it.",
      );

      const missingEdit = await httpError(api.RepositoryFiles.edit(PATH, "nope.txt", "main", "x", "m"));
      assert.equal(statusOf(missingEdit), 400);
      assert.equal(missingEdit.cause?.description, "A file with this name doesn't exist");

      const missing = await httpError(api.RepositoryFiles.show(PATH, "nope.txt", "main"));
      assert.equal(statusOf(missing), 404);
      assert.equal(missing.cause?.description, "404 File Not Found");

      assert.equal(fake.commitsFor(project.id, "main").length, commitsBefore + 2);
      assert.deepEqual(fake.commitsFor(project.id, "main").at(-1)?.actions, [
        { action: "update", filePath: FILE },
      ]);
    });

    it("base64 content, and a Developer cannot push to the protected default branch", async function () {
      const api = client(tokens.maintApi);
      await api.RepositoryFiles.create(
        PATH,
        "bin/blob",
        "main",
        Buffer.from([0, 1, 2, 255]).toString("base64"),
        "bin",
        {
          encoding: "base64",
        },
      );
      const shown = await api.RepositoryFiles.show(PATH, "bin/blob", "main");
      assert.deepEqual([...Buffer.from(shown.content, "base64")], [0, 1, 2, 255]);
      const devErr = await httpError(
        client(tokens.devApi).RepositoryFiles.create(PATH, "dev.txt", "main", "x", "m"),
      );
      assert.equal(statusOf(devErr), 400);
      assert.equal(devErr.cause?.description, "You are not allowed to push into this branch");
      const nobranch = await httpError(api.RepositoryFiles.create(PATH, "a.txt", "no-such-branch", "x", "m"));
      assert.equal(nobranch.cause?.description, "You can only create or edit files when you are on a branch");
      await api.RepositoryFiles.create(PATH, "a.txt", "topic", "x", "m", { startBranch: "main" });
      assert.equal(fake.readFile(project.id, "topic", "a.txt"), "x");
    });
  });

  describe("environments", function () {
    it("create / all with name filter / edit, with cluster agent fields", async function () {
      const api = client(tokens.maintApi);
      const agent = await api.Agents.register(PATH, "env-agent");
      // gitbeaker's option types lack the agent fields; the body is decamelized, so a cast works.
      const extra = { clusterAgentId: agent.id, kubernetesNamespace: "gitlab-agent" } as Record<
        string,
        unknown
      >;
      const env = await api.Environments.create(PATH, "gitlab-agent/prod", {
        tier: "production",
        externalUrl: "https://prod.example.test",
        ...extra,
      });
      const full = env as unknown as Record<string, unknown>;
      assert.equal(env.tier, "production");
      assert.equal(full.kubernetes_namespace, "gitlab-agent");
      assert.equal((full.cluster_agent as { id: number }).id, agent.id);
      await api.Environments.create(PATH, "gitlab-agent/staging");

      const byName = await api.Environments.all(PATH, { name: "gitlab-agent/prod" });
      assert.deepEqual(
        byName.map((e) => e.id),
        [env.id],
      );
      const bySearch = await api.Environments.all(PATH, { search: "gitlab-agent" });
      assert.equal(bySearch.length, 2);

      const edited = await api.Environments.edit(PATH, env.id, {
        externalUrl: "https://prod2.example.test",
        ...({
          fluxResourcePath: "helm.toolkit.fluxcd.io/v2/namespaces/gitlab-agent/helmreleases/gitlab-agent",
        } as Record<string, unknown>),
      });
      assert.equal(edited.external_url, "https://prod2.example.test");
      assert.equal(
        edited.flux_resource_path,
        "helm.toolkit.fluxcd.io/v2/namespaces/gitlab-agent/helmreleases/gitlab-agent",
      );

      const dup = await httpError(api.Environments.create(PATH, "gitlab-agent/prod"));
      assert.equal(dup.cause?.description, JSON.stringify({ name: ["has already been taken"] }));
      const foreign = await httpError(
        api.Environments.create(PATH, "x", { ...({ clusterAgentId: 999 } as object) }),
      );
      assert.equal(
        foreign.cause?.description,
        "400 Bad request - cluster agent doesn't exist or cannot be associated with this environment",
      );

      const notStopped = await httpError(api.Environments.remove(PATH, env.id));
      assert.equal(statusOf(notStopped), 403);
      const stopped = await api.Environments.stop(PATH, env.id);
      assert.equal(stopped.state, "stopped");
      await api.Environments.remove(PATH, env.id);
    });

    it("accepts a CI job token (environments.rb is job_token_allowed)", async function () {
      const envs = await new Gitlab({ host: fake.url, jobToken }).Environments.all(project.id);
      assert.ok(Array.isArray(envs));
    });
  });

  describe("runners", function () {
    it("Users.createCIRunner needs the create_runner (or api) scope", async function () {
      const created = await client(tokens.maintCreateRunner).Users.createCIRunner("project_type", {
        projectId: project.id,
        description: "eks",
        tagList: ["eks", "prod", "eks", " "],
        runUntagged: false,
        maximumTimeout: 3600,
      });
      assert.match(created.token, /^glrt-t3_/);
      assert.equal(created.token_expires_at, null);
      assert.deepEqual(Object.keys(created).sort(), ["id", "token", "token_expires_at"]);
      assert.deepEqual(fake.state.runners.find((r) => r.id === created.id)?.tagList, ["eks", "prod"]);

      const noScope = await httpError(
        client(tokens.maintReadApi).Users.createCIRunner("project_type", { projectId: project.id }),
      );
      assert.equal(statusOf(noScope), 403);
      assert.equal(noScope.cause?.description, "insufficient_scope");
    });

    it("validates like GitLab: instance_type is admin only, tags vs run_untagged, timeouts", async function () {
      const api = client(tokens.maintCreateRunner);
      const inst = await httpError(api.Users.createCIRunner("instance_type"));
      assert.equal(statusOf(inst), 403);
      assert.equal(inst.cause?.description, "403 Forbidden - Insufficient permissions");
      const untagged = await httpError(
        api.Users.createCIRunner("project_type", { projectId: project.id, runUntagged: false }),
      );
      assert.equal(statusOf(untagged), 400);
      assert.equal(
        untagged.cause?.description,
        "400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs",
      );
      const both = await httpError(
        api.Users.createCIRunner("project_type", {
          projectId: project.id,
          runUntagged: false,
          maximumTimeout: 60,
        }),
      );
      assert.equal(
        both.cause?.description,
        "400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs and Maximum timeout needs to be at least 10 minutes",
      );
      const devErr = await httpError(
        client(tokens.devApi).Users.createCIRunner("project_type", { projectId: project.id }),
      );
      assert.equal(devErr.cause?.description, "403 Forbidden - Insufficient permissions");
      const instance = await client(tokens.admin).Users.createCIRunner("instance_type", {
        tagList: ["shared"],
      });
      assert.match(instance.token, /^glrt-t1_/);
    });

    it("show / all / edit / remove", async function () {
      const created = await client(tokens.maintApi).Users.createCIRunner("group_type", {
        groupId: project.groupId!,
        tagList: ["group-eks"],
      });
      const manage = client(tokens.maintManageRunner);
      const shown = await manage.Runners.show(created.id);
      assert.equal(shown.runner_type, "group_type");
      assert.deepEqual(shown.tag_list, ["group-eks"]);
      const forProject = await client(tokens.maintApi).Runners.all({ projectId: PATH });
      assert.ok(forProject.some((r) => r.id === created.id));
      const owned = await client(tokens.maintApi).Runners.all({ owned: true, tagList: ["group-eks"] });
      assert.deepEqual(
        owned.map((r) => r.id),
        [created.id],
      );
      const edited = await manage.Runners.edit(created.id, { description: "renamed", paused: true });
      assert.equal(edited.description, "renamed");
      assert.equal(edited.paused, true);
      await manage.Runners.remove({ runnerId: created.id });
      assert.equal(statusOf(await httpError(manage.Runners.show(created.id))), 404);
      const jobErr = await httpError(
        new Gitlab({ host: fake.url, jobToken }).Runners.remove({ runnerId: 1 }),
      );
      assert.equal(statusOf(jobErr), 401);
    });
  });

  describe("merge requests and notes", function () {
    it("a second open MR for the same branches is 409", async function () {
      fake.addBranch(project.id, "promote/prod");
      const api = client(tokens.devApi);
      const mr = await api.MergeRequests.create(PATH, "promote/prod", "main", "Promote to prod", {
        description: "body",
        labels: "promotion,prod",
      });
      assert.equal(mr.iid, 1);
      assert.deepEqual(mr.labels, ["promotion", "prod"]);
      const err = await httpError(api.MergeRequests.create(PATH, "promote/prod", "main", "Again"));
      assert.equal(statusOf(err), 409);
      assert.equal(
        err.cause?.description,
        JSON.stringify(["Another open merge request already exists for this source branch: !1"]),
      );

      const found = await api.MergeRequests.all({
        projectId: PATH,
        state: "opened",
        sourceBranch: "promote/prod",
        labels: "prod",
      });
      assert.deepEqual(
        found.map((m) => m.iid),
        [1],
      );
      assert.deepEqual(await api.MergeRequests.all({ projectId: PATH, state: "merged" }), []);
      const edited = await api.MergeRequests.edit(PATH, 1, { title: "Promote prod", addLabels: "ready" });
      assert.equal(edited.title, "Promote prod");
      assert.deepEqual(edited.labels, ["promotion", "prod", "ready"]);
      const missingBranch = await httpError(api.MergeRequests.create(PATH, "nope", "main", "x"));
      assert.equal(statusOf(missingBranch), 422);
    });

    it("MergeRequestNotes create / edit / all", async function () {
      const api = client(tokens.devApi);
      const note = await api.MergeRequestNotes.create(PATH, 1, "Plan: 3 to add");
      assert.equal(note.body, "Plan: 3 to add");
      assert.equal(note.noteable_type, "MergeRequest");
      const edited = await api.MergeRequestNotes.edit(PATH, 1, note.id, { body: "Plan: 4 to add" });
      assert.equal(edited.body, "Plan: 4 to add");
      const notes = await api.MergeRequestNotes.all(PATH, 1);
      assert.deepEqual(
        notes.map((n) => n.id),
        [note.id],
      );
      const notAuthor = await httpError(
        client(tokens.maintApi).MergeRequestNotes.edit(PATH, 1, note.id, { body: "hijack" }),
      );
      assert.equal(statusOf(notAuthor), 403);
      const noMr = await httpError(api.MergeRequestNotes.create(PATH, 99, "x"));
      assert.equal(noMr.cause?.description, "404 MergeRequest Not Found");
    });

    it("a CI job token may read MRs and notes but not write them", async function () {
      const job = new Gitlab({ host: fake.url, jobToken });
      const mrs = await job.MergeRequests.all({ projectId: project.id });
      assert.ok(mrs.length >= 1);
      assert.ok((await job.MergeRequestNotes.all(project.id, 1)).length >= 1);
      const write = await httpError(job.MergeRequestNotes.create(project.id, 1, "from CI"));
      assert.equal(statusOf(write), 401);
      const mrWrite = await httpError(job.MergeRequests.create(project.id, "promote/prod", "main", "x"));
      assert.equal(statusOf(mrWrite), 401);
    });
  });

  describe("issues", function () {
    it("create / all with filters / edit, and issue notes", async function () {
      const api = client(tokens.devApi);
      const a = await api.Issues.create(PATH, "Drift detected in prod", {
        labels: "drift,prod",
        description: "plan",
      });
      await api.Issues.create(PATH, "Unrelated", { labels: "other" });
      const drift = await api.Issues.all({ projectId: PATH, labels: "drift", state: "opened" });
      assert.deepEqual(
        drift.map((i) => i.iid),
        [a.iid],
      );
      const searched = await api.Issues.all({ projectId: PATH, search: "drift" });
      assert.deepEqual(
        searched.map((i) => i.iid),
        [a.iid],
      );
      const closed = await api.Issues.edit(PATH, a.iid, { stateEvent: "close" });
      assert.equal(closed.state, "closed");
      assert.ok(closed.closed_at);
      assert.equal((closed.closed_by as { username?: string } | null)?.username, "dev");
      const again = await api.Issues.edit(PATH, a.iid, { stateEvent: "close" });
      assert.equal(again.closed_at, closed.closed_at, "closing a closed issue changes nothing");
      const note = await api.IssueNotes.create(PATH, a.iid, "closing");
      const notes = await api.IssueNotes.all(PATH, a.iid, { sort: "asc" });
      // GitLab records the state change as ONE system note "closed", listed with the comments.
      assert.deepEqual(
        notes.map((n) => [n.body, n.system]),
        [
          ["closed", true],
          ["closing", false],
        ],
      );
      assert.equal(notes[1].id, note.id);
      const reopened = await api.Issues.edit(PATH, a.iid, { stateEvent: "reopen" });
      assert.equal(reopened.state, "opened");
      assert.equal(reopened.closed_at, null);
    });
  });

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
