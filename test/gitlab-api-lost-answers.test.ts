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
  let w: GitlabWorld;
  let sleeps: number[];
  beforeEach(() => {
    w = t.w;
    sleeps = t.sleeps;
  });
  const api = t.api;

  describe("lost and ambiguous answers: no POST resent blindly", () => {
    const spec = (_: number) => ({
      name: "production",
      tier: "production",
      clusterAgentId:
        w.fake.state.agents[0]?.id ?? w.fake.addAgent({ projectId: w.clustersId, name: "prod" }).id,
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
        inject(w.fake);
        const r = await ensureEnvironment(api(w.maintainerToken), "platform/clusters", spec(1));
        assert.equal(r.created, true);
        assert.equal(w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 1);
        assert.equal(w.fake.state.environments.length, 1);
        assert.equal(sleeps.length, 0, "nothing was retried");
      });

    it("a 500 before applying: looked up, not found, created once more", async () => {
      w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 500 });
      await ensureEnvironment(api(w.maintainerToken), "platform/clusters", spec(1));
      assert.equal(w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 2);
      assert.equal(w.fake.state.environments.length, 1);
    });

    it("resends a POST GitLab provably refused: 429 (a storm) and 503 with Retry-After", async () => {
      w.fake.failNext({
        method: "POST",
        pathPattern: /environments$/,
        status: 429,
        retryAfterSeconds: 2,
        times: 2,
      });
      w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 503, retryAfterSeconds: 3 });
      await ensureEnvironment(api(w.maintainerToken), "platform/clusters", spec(1));
      assert.deepEqual(sleeps, [2000, 2000, 3000]);
      assert.equal(w.fake.countRequests({ method: "POST", pathPattern: /environments$/ }), 4);
      assert.equal(w.fake.state.environments.length, 1);
    });

    it("a second ambiguous failure fails the run, saying the POST was not resent; the re-run finds it", async () => {
      w.fake.failNext({ method: "POST", pathPattern: /environments$/, status: 500 });
      w.fake.failAfterApplying({ method: "POST", pathPattern: /environments$/, status: 502 });
      const e = await ensureEnvironment(api(w.maintainerToken), "platform/clusters", spec(1)).catch(
        (x: Error) => x,
      );
      assert.ok(e instanceof Error);
      assert.match(e.message, /502 Bad Gateway after the POST was sent\. Not resent/);
      const again = await ensureEnvironment(api(w.maintainerToken), "platform/clusters", spec(1));
      assert.equal(again.created, false);
      assert.equal(w.fake.state.environments.length, 1);
      assert.ok(!e.message.includes(w.maintainerToken));
    });

    it("a POST that changes nothing when sent twice (stopping an environment) is retried like a GET", async () => {
      const env = w.fake.addEnvironment({ projectId: w.clustersId, name: "review" });
      w.fake.failNext({ method: "POST", pathPattern: /\/stop$/, status: 502 });
      await deleteEnvironment(api(w.maintainerToken), "platform/clusters", env.id);
      assert.equal(w.fake.countRequests({ method: "POST", pathPattern: /\/stop$/ }), 2);
      assert.equal(w.fake.state.environments.length, 0);
    });

    it("a stalled create past the client's timeout is not resent: the config file is found committed", async () => {
      const quick = gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
        env: { GITLAB_TOKEN: w.maintainerToken },
        retry: { ...FAST, attemptTimeoutMs: 300 },
        sleep: async () => {},
      });
      w.fake.stall({ method: "POST", pathPattern: /repository\/files/ });
      const r = await ensureFile(quick, "platform/clusters", ".gitlab/agents/prod/config.yaml", "a: 1\n", {
        message: "m",
      });
      assert.equal(r.changed, true);
      assert.equal(w.fake.countRequests({ method: "POST" }), 1);
      assert.equal(w.fake.commitsFor(w.clustersId, "main").length, 1);
    });
  });
});
