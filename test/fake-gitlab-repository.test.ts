/**
 * The fake GitLab, driven by the real @gitbeaker/rest: repository files and environments. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): files, environments", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("repository files", function () {
    const FILE = ".gitlab/agents/prod-eu/config.yaml";

    it("create / show / edit, with GitLab's errors, and counts commits", async function () {
      const api = client(s.tokens.maintApi);
      const commitsBefore = s.fake.commitsFor(s.project.id, "main").length;
      const made = await api.RepositoryFiles.create(
        SUITE_PATH,
        FILE,
        "main",
        "user_access: {}\n",
        "Add agent config",
      );
      assert.deepEqual(made, { file_path: FILE, branch: "main" });
      assert.equal(s.fake.requests[s.fake.requests.length - 1].path.includes(encodeURIComponent(FILE)), true);

      const shown = await api.RepositoryFiles.show(SUITE_PATH, FILE, "main");
      assert.equal(Buffer.from(shown.content, "base64").toString("utf8"), "user_access: {}\n");
      assert.equal(shown.encoding, "base64");
      assert.equal(shown.file_name, "config.yaml");
      assert.match(shown.content_sha256, /^[0-9a-f]{64}$/);
      assert.match(shown.blob_id, /^[0-9a-f]{40}$/);
      assert.equal(shown.last_commit_id, s.fake.commitsFor(s.project.id, "main").at(-1)?.id);

      const exists = await httpError(api.RepositoryFiles.create(SUITE_PATH, FILE, "main", "x", "again"));
      assert.equal(statusOf(exists), 400);
      assert.equal(exists.cause?.description, "A file with this name already exists");

      await api.RepositoryFiles.edit(SUITE_PATH, FILE, "main", "user_access: {agent: {}}\n", "Update", {
        lastCommitId: shown.last_commit_id,
      });
      assert.equal(s.fake.readFile(s.project.id, "main", FILE), "user_access: {agent: {}}\n");
      const stale = await httpError(
        api.RepositoryFiles.edit(SUITE_PATH, FILE, "main", "z", "stale", {
          lastCommitId: shown.last_commit_id,
        }),
      );
      assert.equal(
        stale.cause?.description,
        "You are attempting to update a file that has changed since you started editing it.",
      );

      const missingEdit = await httpError(api.RepositoryFiles.edit(SUITE_PATH, "nope.txt", "main", "x", "m"));
      assert.equal(statusOf(missingEdit), 400);
      assert.equal(missingEdit.cause?.description, "A file with this name doesn't exist");

      const missing = await httpError(api.RepositoryFiles.show(SUITE_PATH, "nope.txt", "main"));
      assert.equal(statusOf(missing), 404);
      assert.equal(missing.cause?.description, "404 File Not Found");

      assert.equal(s.fake.commitsFor(s.project.id, "main").length, commitsBefore + 2);
      assert.deepEqual(s.fake.commitsFor(s.project.id, "main").at(-1)?.actions, [
        { action: "update", filePath: FILE },
      ]);
    });

    it("base64 content, and a Developer cannot push to the protected default branch", async function () {
      const api = client(s.tokens.maintApi);
      await api.RepositoryFiles.create(
        SUITE_PATH,
        "bin/blob",
        "main",
        Buffer.from([0, 1, 2, 255]).toString("base64"),
        "bin",
        {
          encoding: "base64",
        },
      );
      const shown = await api.RepositoryFiles.show(SUITE_PATH, "bin/blob", "main");
      assert.deepEqual([...Buffer.from(shown.content, "base64")], [0, 1, 2, 255]);
      const devErr = await httpError(
        client(s.tokens.devApi).RepositoryFiles.create(SUITE_PATH, "dev.txt", "main", "x", "m"),
      );
      assert.equal(statusOf(devErr), 400);
      assert.equal(devErr.cause?.description, "You are not allowed to push into this branch");
      const nobranch = await httpError(
        api.RepositoryFiles.create(SUITE_PATH, "a.txt", "no-such-branch", "x", "m"),
      );
      assert.equal(nobranch.cause?.description, "You can only create or edit files when you are on a branch");
      await api.RepositoryFiles.create(SUITE_PATH, "a.txt", "topic", "x", "m", { startBranch: "main" });
      assert.equal(s.fake.readFile(s.project.id, "topic", "a.txt"), "x");
    });
  });

  describe("environments", function () {
    it("create / all with name filter / edit, with cluster agent fields", async function () {
      const api = client(s.tokens.maintApi);
      const agent = await api.Agents.register(SUITE_PATH, "env-agent");
      // gitbeaker's option types lack the agent fields; the body is decamelized, so a cast works.
      const extra = { clusterAgentId: agent.id, kubernetesNamespace: "gitlab-agent" } as Record<
        string,
        unknown
      >;
      const env = await api.Environments.create(SUITE_PATH, "gitlab-agent/prod", {
        tier: "production",
        externalUrl: "https://prod.example.test",
        ...extra,
      });
      const full = env as unknown as Record<string, unknown>;
      assert.equal(env.tier, "production");
      assert.equal(full.kubernetes_namespace, "gitlab-agent");
      assert.equal((full.cluster_agent as { id: number }).id, agent.id);
      await api.Environments.create(SUITE_PATH, "gitlab-agent/staging");

      const byName = await api.Environments.all(SUITE_PATH, { name: "gitlab-agent/prod" });
      assert.deepEqual(
        byName.map((e) => e.id),
        [env.id],
      );
      const bySearch = await api.Environments.all(SUITE_PATH, { search: "gitlab-agent" });
      assert.equal(bySearch.length, 2);

      const edited = await api.Environments.edit(SUITE_PATH, env.id, {
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

      const dup = await httpError(api.Environments.create(SUITE_PATH, "gitlab-agent/prod"));
      assert.equal(dup.cause?.description, JSON.stringify({ name: ["has already been taken"] }));
      const foreign = await httpError(
        api.Environments.create(SUITE_PATH, "x", { ...({ clusterAgentId: 999 } as object) }),
      );
      assert.equal(
        foreign.cause?.description,
        "400 Bad request - cluster agent doesn't exist or cannot be associated with this environment",
      );

      const notStopped = await httpError(api.Environments.remove(SUITE_PATH, env.id));
      assert.equal(statusOf(notStopped), 403);
      const stopped = await api.Environments.stop(SUITE_PATH, env.id);
      assert.equal(stopped.state, "stopped");
      await api.Environments.remove(SUITE_PATH, env.id);
    });

    it("accepts a CI job token (environments.rb is job_token_allowed)", async function () {
      const envs = await new Gitlab({ host: s.fake.url, jobToken: s.jobToken }).Environments.all(
        s.project.id,
      );
      assert.ok(Array.isArray(envs));
    });
  });
});
