/**
 * The GitLab API module (infra/gitlab) against the fake GitLab: a POST whose answer is lost or ambiguous is
 * never resent blindly. Over real HTTP with real gitbeaker.
 */
import assert from "node:assert/strict";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { deleteEnvironment, ensureEnvironment } from "../infra/gitlab/environments";
import { ensureFile } from "../infra/gitlab/files";
import { FAST, apiWorld } from "./support/gitlab-api-world";
import { type GitlabWorld } from "./support/gitlab-world";

describe("GitLab API module: lost and ambiguous answers", () => {
  const t = apiWorld();

  describe("lost and ambiguous answers: no POST resent blindly", () => {
    const spec = (_: number) => ({
      name: "production",
      tier: "production",
      clusterAgentId:
        t.w.fake.state.agents[0]?.id ?? t.w.fake.addAgent({ projectId: t.w.clustersId, name: "prod" }).id,
      kubernetesNamespace: "apps",
    });

    for (const [what, inject] of [
      [
        "a 502 after applying",
        (f: GitlabWorld["fake"]) =>
          f.failAfterApplying({ method: "POST", pathPattern: /environments$/, status: 502 }),
      ],
      [
        "a 504 after applying",
        (f: GitlabWorld["fake"]) =>
          f.failAfterApplying({ method: "POST", pathPattern: /environments$/, status: 504 }),
      ],
      [
        "a connection closed after applying",
        (f: GitlabWorld["fake"]) => f.loseAnswer({ method: "POST", pathPattern: /environments$/ }),
      ],
    ] as const)
      it(`${what}: the same run finds the environment by name instead of creating a second`, async () => {
        inject(t.w.fake);
        const r = await ensureEnvironment(t.api(t.w.maintainerToken), "platform/clusters", spec(1));
        assert.equal(r.created, true);
        assert.equal(t.w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 1);
        assert.equal(t.w.fake.state.environments.length, 1);
        assert.equal(t.sleeps.length, 0, "nothing was retried");
      });

    it("a 500 before applying: looked up, not found, created once more", async () => {
      t.w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 500 });
      await ensureEnvironment(t.api(t.w.maintainerToken), "platform/clusters", spec(1));
      assert.equal(t.w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 2);
      assert.equal(t.w.fake.state.environments.length, 1);
    });

    it("resends a POST GitLab provably refused: 429 (a storm) and 503 with Retry-After", async () => {
      t.w.fake.failNext({
        method: "POST",
        pathPattern: /environments$/,
        status: 429,
        retryAfterSeconds: 2,
        times: 2,
      });
      t.w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 503, retryAfterSeconds: 3 });
      await ensureEnvironment(t.api(t.w.maintainerToken), "platform/clusters", spec(1));
      assert.deepEqual(t.sleeps, [2000, 2000, 3000]);
      assert.equal(t.w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 4);
      assert.equal(t.w.fake.state.environments.length, 1);
    });

    it("a second ambiguous failure fails the run, saying the POST was not resent; the re-run finds it", async () => {
      t.w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 500 });
      t.w.fake.failAfterApplying({ method: "POST", pathPattern: /environments$/, status: 502 });
      const e = await ensureEnvironment(t.api(t.w.maintainerToken), "platform/clusters", spec(1)).catch(
        (x: Error) => x,
      );
      assert.ok(e instanceof Error);
      assert.match(e.message, /502 Bad Gateway after the POST was sent\. Not resent/);
      const again = await ensureEnvironment(t.api(t.w.maintainerToken), "platform/clusters", spec(1));
      assert.equal(again.created, false);
      assert.equal(t.w.fake.state.environments.length, 1);
      assert.ok(!e.message.includes(t.w.maintainerToken));
    });

    it("a POST that changes nothing when sent twice (stopping an environment) is retried like a GET", async () => {
      const env = t.w.fake.addEnvironment({ projectId: t.w.clustersId, name: "review" });
      t.w.fake.failNext({ method: "POST", pathPattern: /\/stop$/, status: 502 });
      await deleteEnvironment(t.api(t.w.maintainerToken), "platform/clusters", env.id);
      assert.equal(t.w.fake.countRequests({ method: "POST", pathPattern: /\/stop$/ }), 2);
      assert.equal(t.w.fake.state.environments.length, 0);
    });

    it("a stalled create past the client's timeout is not resent: the config file is found committed", async () => {
      const quick = gitlabClient(resolveConnection({ url: t.w.fake.url }, {}), {
        env: { GITLAB_TOKEN: t.w.maintainerToken },
        retry: { ...FAST, attemptTimeoutMs: 300 },
        sleep: async () => {},
      });
      t.w.fake.stall({ method: "POST", pathPattern: /repository\/files/ });
      const r = await ensureFile(quick, "platform/clusters", ".gitlab/agents/prod/config.yaml", "a: 1\n", {
        message: "m",
      });
      assert.equal(r.changed, true);
      assert.equal(t.w.fake.countRequests({ method: "POST" }), 1);
      assert.equal(t.w.fake.commitsFor(t.w.clustersId, "main").length, 1);
    });
  });
});
