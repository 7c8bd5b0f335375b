/** The GitLab API module (infra/gitlab) against the fake GitLab server, over real HTTP with real gitbeaker. */
import assert from "node:assert/strict";
import {
  activeTokens,
  createAgentToken,
  deleteAgent,
  ensureAgent,
  ensureUrlConfiguration,
  revokeAgentToken,
} from "../infra/gitlab/agents";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { ensureEnvironment } from "../infra/gitlab/environments";
import { ensureFile } from "../infra/gitlab/files";
import { instanceMetadata, projectAccess, tokenSelf } from "../infra/gitlab/instance";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { retryAfterMs } from "../infra/gitlab/requester";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

const FAST = {
  maxAttempts: 4,
  maxWaitMs: 60_000,
  baseDelayMs: 100,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 5_000,
};

describe("GitLab API module", () => {
  let w: GitlabWorld;
  let sleeps: number[];
  const api = (token?: string, env: Record<string, string> = {}) =>
    gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
      env: token ? { GITLAB_TOKEN: token, ...env } : env,
      retry: FAST,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

  beforeEach(async () => {
    w = await gitlabWorld();
    sleeps = [];
  });
  afterEach(() => w.fake.close());

  describe("connection and token", () => {
    it("defaults to CI_SERVER_URL, then gitlab.com, and strips /api/v4", () => {
      assert.equal(resolveConnection({}, {}).url, "https://gitlab.com");
      assert.equal(
        resolveConnection({}, { CI_SERVER_URL: "https://git.example.com/" }).url,
        "https://git.example.com",
      );
      assert.equal(resolveConnection({ url: "https://x.example/api/v4" }, {}).url, "https://x.example");
      assert.equal(resolveConnection({ tokenVariable: "GL_TOKEN" }, {}).tokenVariable, "GL_TOKEN");
    });

    it("says a CI job token is not enough, and why, without calling GitLab", async () => {
      await assert.rejects(
        ensureAgent(api(undefined, { CI_JOB_TOKEN: w.jobToken }), "platform/clusters", "dev"),
        /Only CI_JOB_TOKEN is available, and GitLab does not accept job tokens for cluster agents/,
      );
      assert.equal(w.fake.countRequests(), 0);
    });

    it("says which variable to set when there is no token", async () => {
      await assert.rejects(
        ensureAgent(api(), "platform/clusters", "dev"),
        /needs a GitLab token in the GITLAB_TOKEN environment variable/,
      );
    });

    it("maps 401, 403 (scope and role) and 404 to what to change", async () => {
      await assert.rejects(
        ensureAgent(api("glpat-unknown"), "platform/clusters", "dev"),
        /rejected the token in GITLAB_TOKEN \(401 Unauthorized\)/,
      );
      await assert.rejects(
        ensureAgent(api(w.readOnlyToken), "platform/clusters", "dev"),
        /lacks the api scope \(403 insufficient_scope\)/,
      );
      await assert.rejects(
        ensureAgent(api(w.developerToken), "platform/clusters", "dev"),
        /needs to be Maintainer on platform\/clusters/,
      );
      await assert.rejects(
        ensureAgent(api(w.maintainerToken), "platform/nope", "dev"),
        /project platform\/nope was not found \(404\)/,
      );
    });

    it("never puts the token in an error message", async () => {
      const err = await ensureAgent(api(w.developerToken), "platform/clusters", "dev").catch((e: Error) => e);
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes(w.developerToken));
    });
  });

  describe("retries", () => {
    it("never resends a POST whose answer was lost: the re-run finds the note instead of adding one", async () => {
      const quick = () =>
        gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
          env: { GITLAB_TOKEN: w.maintainerToken },
          retry: { ...FAST, attemptTimeoutMs: 300 },
          sleep: async (ms) => {
            sleeps.push(ms);
          },
        });
      const iid = w.fake.addMergeRequest({
        projectId: w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: w.fake.state.users[0].id,
      }).iid;
      const target = { project: w.clustersId, mergeRequestIid: iid };
      w.fake.answerLate({ method: "POST", pathPattern: /\/notes$/, delayMs: 1_000 });
      await assert.rejects(
        upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody"),
        /timed out after 300 ms\. Not retried: GitLab may have carried it out/,
      );
      assert.equal(w.fake.countRequests({ method: "POST" }), 1);
      assert.equal(w.fake.state.notes.length, 1, "GitLab did create it");
      const again = await upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody");
      assert.equal(again.action, "unchanged");
      assert.equal(w.fake.state.notes.length, 1);
    });

    it("does retry a GET whose answer was late", async () => {
      w.fake.answerLate({ method: "GET", pathPattern: "/metadata", delayMs: 1_000 });
      const m = await instanceMetadata(
        gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
          env: { GITLAB_TOKEN: w.maintainerToken },
          retry: { ...FAST, attemptTimeoutMs: 300 },
          sleep: async () => {},
        }),
      );
      assert.equal(m.kas.enabled, true);
      assert.equal(w.fake.countRequests({ pathPattern: "/metadata" }), 2);
    });

    it("waits as long as Retry-After says on 429, then succeeds", async () => {
      w.fake.failNext({ status: 429, retryAfterSeconds: 7, times: 2 });
      const m = await instanceMetadata(api(w.maintainerToken));
      assert.equal(m.kas.enabled, true);
      assert.deepEqual(sleeps, [7000, 7000]);
    });

    it("backs off exponentially on 502 and 500 (no Retry-After)", async () => {
      w.fake.failNext({ status: 502, times: 1 });
      w.fake.failNext({ status: 500, times: 1 });
      await instanceMetadata(api(w.maintainerToken));
      assert.equal(sleeps.length, 2);
      assert.ok(sleeps[0] >= 75 && sleeps[0] <= 125, String(sleeps[0]));
      assert.ok(sleeps[1] >= 150 && sleeps[1] <= 250, String(sleeps[1]));
    });

    it("gives up, bounded, with a message that names the rate limit", async () => {
      w.fake.failNext({ status: 429, retryAfterSeconds: 1, times: 10 });
      await assert.rejects(
        instanceMetadata(api(w.maintainerToken)),
        /answered 429 Too Many Requests to GET \/api\/v4\/metadata \(4 times\) and asked to wait 1 s \(Retry-After\): its rate limit/,
      );
      assert.equal(sleeps.length, 3);
    });

    it("reads Retry-After as seconds or as an HTTP date", () => {
      assert.equal(retryAfterMs("12"), 12_000);
      assert.equal(
        retryAfterMs("Wed, 21 Oct 2015 07:28:30 GMT", Date.parse("Wed, 21 Oct 2015 07:28:00 GMT")),
        30_000,
      );
      assert.equal(retryAfterMs("soon"), undefined);
      assert.equal(retryAfterMs(null), undefined);
    });
  });

  describe("agents and tokens", () => {
    it("registers an agent once and adopts it afterwards", async () => {
      const a = api(w.maintainerToken);
      const first = await ensureAgent(a, "platform/clusters", "prod");
      assert.equal(first.created, true);
      w.fake.clearRequests();
      const second = await ensureAgent(a, "platform/clusters", "prod");
      assert.equal(second.created, false);
      assert.equal(second.agent.id, first.agent.id);
      assert.equal(w.fake.countMutatingRequests(), 0);
    });

    it("adopts an agent registered by hand (glab) instead of failing on the duplicate name", async () => {
      const existing = w.fake.addAgent({ projectId: w.clustersId, name: "staging" });
      const r = await ensureAgent(api(w.maintainerToken), String(w.clustersId), "staging");
      assert.deepEqual([r.created, r.agent.id], [false, existing.id]);
    });

    it("creates a token (the secret only in that response) and never exceeds two active tokens", async () => {
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod");
      const foreign = w.fake.addAgentToken({
        agentId: agent.id,
        name: "glab-bootstrap-1700000000",
        lastUsedAt: "2026-01-01T00:00:00Z",
      });
      const first = await createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-initial", {
        managedPrefix: "gitlab-eks-",
      });
      assert.match(first.token.secret, /^glagent-/);
      assert.deepEqual(first.revoked, []);
      assert.equal((await activeTokens(a, "platform/clusters", agent.id)).length, 2);

      // Rotation: a new token while the old one is still in use; the foreign one makes room.
      const second = await createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-2026-11", {
        managedPrefix: "gitlab-eks-",
      });
      assert.deepEqual(
        second.revoked.map((t) => t.id),
        [foreign.id],
      );
      const active = (await activeTokens(a, "platform/clusters", agent.id)).map((t) => t.id).sort();
      assert.deepEqual(active, [first.token.id, second.token.id].sort());
      const creates = w.fake.requestsMatching({ method: "POST", pathPattern: /\/tokens$/ });
      assert.ok(
        creates.every((r) => r.status === 201),
        "GitLab never answered 400 for a third token",
      );

      await revokeAgentToken(a, "platform/clusters", agent.id, first.token.id);
      await revokeAgentToken(a, "platform/clusters", agent.id, first.token.id); // again: already gone is fine
      assert.deepEqual(
        (await activeTokens(a, "platform/clusters", agent.id)).map((t) => t.id),
        [second.token.id],
      );
    });

    it("deletes an agent, and deleting it again is fine", async () => {
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "tmp");
      await deleteAgent(a, "platform/clusters", agent.id);
      await deleteAgent(a, "platform/clusters", agent.id);
      assert.equal((await ensureAgent(a, "platform/clusters", "tmp")).created, true);
    });

    it("explains that receptive agents need Ultimate self-managed when GitLab answers 404", async () => {
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod");
      await assert.rejects(
        ensureUrlConfiguration(a, "platform/clusters", agent.id, "grpcs://agent.example.com"),
        /need GitLab Ultimate on a self-managed instance/,
      );
    });

    it("creates a receptive URL configuration once, in JWT mode", async () => {
      w.fake.state.instance.receptiveAgentsEnabled = true;
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod");
      const first = await ensureUrlConfiguration(
        a,
        "platform/clusters",
        agent.id,
        "grpcs://agent.example.com",
      );
      assert.equal(first.created, true);
      assert.ok(first.config.publicKey);
      const again = await ensureUrlConfiguration(
        a,
        "platform/clusters",
        agent.id,
        "grpcs://agent.example.com",
      );
      assert.deepEqual([again.created, again.config.id], [false, first.config.id]);
    });
  });

  describe("files and environments", () => {
    it("commits the agent config file only when its content changes", async () => {
      const a = api(w.maintainerToken);
      const path = ".gitlab/agents/prod/config.yaml";
      const created = await ensureFile(a, "platform/clusters", path, "ci_access: {}\n", {
        message: "agent config",
      });
      assert.deepEqual([created.changed, created.branch], [true, "main"]);
      const same = await ensureFile(a, "platform/clusters", path, "ci_access: {}\n", {
        message: "agent config",
      });
      assert.equal(same.changed, false);
      const updated = await ensureFile(a, "platform/clusters", path, "user_access: {}\n", {
        message: "agent config",
      });
      assert.equal(updated.changed, true);
      assert.equal(w.fake.commitsFor(w.clustersId, "main").length, 2);
      assert.equal(w.fake.readFile(w.clustersId, "main", path), "user_access: {}\n");
    });

    it("creates the environment linked to the agent, then changes nothing, then updates on difference", async () => {
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod");
      const spec = {
        name: "production",
        tier: "production",
        clusterAgentId: agent.id,
        kubernetesNamespace: "apps",
      };
      const first = await ensureEnvironment(a, "platform/clusters", spec);
      assert.equal(first.changed, true);
      assert.equal(first.environment.clusterAgentId, agent.id);
      assert.equal(first.environment.kubernetesNamespace, "apps");
      w.fake.clearRequests();
      assert.equal((await ensureEnvironment(a, "platform/clusters", spec)).changed, false);
      assert.equal(w.fake.countMutatingRequests(), 0);
      const moved = await ensureEnvironment(a, "platform/clusters", {
        ...spec,
        kubernetesNamespace: "apps-2",
      });
      assert.deepEqual(
        [moved.changed, moved.environment.id, moved.environment.kubernetesNamespace],
        [true, first.environment.id, "apps-2"],
      );
    });
  });

  describe("instance facts", () => {
    it("reads KAS from /metadata, the token's scopes and the caller's role", async () => {
      const a = api(w.maintainerToken);
      const m = await instanceMetadata(a);
      assert.equal(m.kas.enabled, true);
      assert.ok(m.kas.externalUrl);
      assert.deepEqual((await tokenSelf(a)).scopes, ["api"]);
      assert.deepEqual(await projectAccess(a, "platform/clusters"), { id: w.clustersId, accessLevel: 40 });
    });
  });
});
