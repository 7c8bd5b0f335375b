/**
 * The GitLab API module (infra/gitlab) against the fake GitLab: agents and their tokens, the receptive URL
 * configuration, repository files and environments. Over real HTTP with real gitbeaker.
 */
import assert from "node:assert/strict";
import {
  activeTokens,
  createAgentToken,
  deleteAgent,
  ensureAgent,
  ensureUrlConfiguration,
  revokeAgentToken,
} from "../infra/gitlab/agents";
import { ensureEnvironment } from "../infra/gitlab/environments";
import { deleteFile, ensureFile } from "../infra/gitlab/files";
import { apiWorld } from "./support/gitlab-api-world";

describe("GitLab API module: agents, tokens, files, environments", () => {
  const t = apiWorld();

  describe("agents and tokens", () => {
    const OWNER = "platform-clusters/prod";
    const TAG = `[gitlab-eks:${OWNER}]`;

    it("registers an agent once; found again, it is this stack's only when its tokens or config name the stack", async () => {
      const a = t.api(t.w.maintainerToken);
      const first = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([first.created, first.adopted], [true, false]);
      await createAgentToken(a, "platform/clusters", first.agent.id, "gitlab-eks-prod-initial", {
        owner: OWNER,
      });
      t.w.fake.clearRequests();
      const second = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([second.created, second.adopted, second.agent.id], [false, false, first.agent.id]);
      assert.equal(t.w.fake.countMutatingRequests(), 0);
      await assert.rejects(
        ensureAgent(a, "platform/clusters", "prod", { owner: "platform-clusters/staging", adopt: true }),
        /belongs to gitlab-eks stack platform-clusters\/prod .*Give this stack its own gitlab-eks:agent.name/,
      );
    });

    it("refuses an agent registered by hand (glab), naming what it saw, unless adopt is set", async () => {
      const existing = t.w.fake.addAgent({ projectId: t.w.clustersId, name: "staging" });
      t.w.fake.addAgentToken({ agentId: existing.id, name: "glab-bootstrap-1700000000" });
      await assert.rejects(
        ensureAgent(t.api(t.w.maintainerToken), String(t.w.clustersId), "staging", { owner: OWNER }),
        /agent "staging" already exists .*this stack did not register it .*"glab-bootstrap-1700000000".*Set gitlab-eks:agent.adopt to true/,
      );
      const r = await ensureAgent(t.api(t.w.maintainerToken), String(t.w.clustersId), "staging", {
        owner: OWNER,
        adopt: true,
      });
      assert.deepEqual([r.created, r.adopted, r.agent.id], [false, true, existing.id]);
    });

    it("a lost registration is found by name in the same run, never registered twice", async () => {
      t.w.fake.loseAnswer({ method: "POST", pathPattern: /cluster_agents$/ });
      const r = await ensureAgent(t.api(t.w.maintainerToken), "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([r.created, r.adopted], [true, false]);
      assert.equal(t.w.fake.countRequests({ method: "POST" }), 1);
      assert.equal(t.w.fake.state.agents.length, 1);
    });

    it("creates tokens carrying the stack, revokes only this stack's orphans, never a token it holds or another's", async () => {
      const a = t.api(t.w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      const foreign = t.w.fake.addAgentToken({ agentId: agent.id, name: "glab-bootstrap-1700000000" });
      const first = await createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-initial", {
        owner: OWNER,
        description: "gitlab-eks: cluster prod",
      });
      assert.match(first.token.secret, /^glagent-/);
      assert.equal(first.token.description, `gitlab-eks: cluster prod ${TAG}`);
      // Rotation while the first is in use: the foreign token is not this stack's to revoke.
      await assert.rejects(
        createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-2026-11", {
          owner: OWNER,
          keep: [first.token.id],
        }),
        /2 active tokens, the most GitLab allows, and none is an orphan of this stack: "glab-bootstrap-1700000000".*in use by this stack/,
      );
      await revokeAgentToken(a, "platform/clusters", agent.id, foreign.id); // what the message asks
      await revokeAgentToken(a, "platform/clusters", agent.id, foreign.id); // again: already gone is fine
      // A rotation whose answer is lost twice: the run fails, leaving an orphan of this stack.
      t.w.fake.failAfterApplying({ method: "POST", pathPattern: /\/tokens$/, status: 502, times: 2 });
      await assert.rejects(
        createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-2026-11", {
          owner: OWNER,
          keep: [first.token.id],
        }),
        /GitLab answered 502: 502 Bad Gateway after the POST was sent\. Not resent/,
      );
      const orphans = (await activeTokens(a, "platform/clusters", agent.id)).filter(
        (t) => t.id !== first.token.id,
      );
      assert.equal(orphans.length, 1);
      // The re-run revokes the orphan to make room and keeps the token in use.
      const second = await createAgentToken(a, "platform/clusters", agent.id, "gitlab-eks-prod-2026-11", {
        owner: OWNER,
        keep: [first.token.id],
      });
      assert.deepEqual(
        second.revoked.map((t) => t.id),
        [orphans[0].id],
      );
      const active = (await activeTokens(a, "platform/clusters", agent.id)).map((t) => t.id).sort();
      assert.deepEqual(active, [first.token.id, second.token.id].sort());
      assert.ok(
        t.w.fake
          .requestsMatching({ method: "POST", pathPattern: /\/tokens$/ })
          .every((r) => r.applied ?? r.status === 201),
        "GitLab never refused a third token",
      );
    });

    it("deletes an agent, and deleting it again is fine", async () => {
      const a = t.api(t.w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "tmp");
      await deleteAgent(a, "platform/clusters", agent.id);
      await deleteAgent(a, "platform/clusters", agent.id);
      assert.equal((await ensureAgent(a, "platform/clusters", "tmp")).created, true);
    });

    it("explains that receptive agents need Ultimate self-managed when GitLab answers 404", async () => {
      const a = t.api(t.w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod");
      await assert.rejects(
        ensureUrlConfiguration(a, "platform/clusters", agent.id, "grpcs://agent.example.com"),
        /need GitLab Ultimate on a self-managed instance/,
      );
    });

    it("creates a receptive URL configuration once, in JWT mode", async () => {
      t.w.fake.state.instance.receptiveAgentsEnabled = true;
      const a = t.api(t.w.maintainerToken);
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
    it("deleting a file that is gone is done: GitLab's 400 for it is checked against the branch", async () => {
      const a = t.api(t.w.maintainerToken);
      const path = ".gitlab/agents/prod/config.yaml";
      await ensureFile(a, "platform/clusters", path, "ci_access: {}\n", { message: "agent config" });
      await deleteFile(a, "platform/clusters", path, "main", "remove");
      await deleteFile(a, "platform/clusters", path, "main", "remove again");
      assert.equal(t.w.fake.countRequests({ method: "DELETE", status: 400 }), 1, "GitLab said 400");
      assert.equal(t.w.fake.readFile(t.w.clustersId, "main", path), undefined);
    });

    it("commits the agent config file only when its content changes", async () => {
      const a = t.api(t.w.maintainerToken);
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
      assert.equal(t.w.fake.commitsFor(t.w.clustersId, "main").length, 2);
      assert.equal(t.w.fake.readFile(t.w.clustersId, "main", path), "user_access: {}\n");
    });

    it("creates the environment linked to the agent, then changes nothing, then updates on difference", async () => {
      const a = t.api(t.w.maintainerToken);
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
      t.w.fake.clearRequests();
      assert.equal((await ensureEnvironment(a, "platform/clusters", spec)).changed, false);
      assert.equal(t.w.fake.countMutatingRequests(), 0);
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
});
