/**
 * The GitLab API module (infra/gitlab) against the fake GitLab: the connection and the token, the
 * requester's retries and timeouts, and the instance's facts. Over real HTTP with real gitbeaker.
 */
import assert from "node:assert/strict";
import { ensureAgent } from "../infra/gitlab/agents";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { instanceMetadata, projectAccess, tokenSelf } from "../infra/gitlab/instance";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { DEFAULT_RETRY, retryAfterMs, retryPolicyFromEnv, TIMEOUT_VARIABLE } from "../infra/gitlab/requester";
import { FAST, apiWorld } from "./support/gitlab-api-world";

describe("GitLab API module: connection, retries, instance facts", () => {
  const t = apiWorld();

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
        ensureAgent(t.api(undefined, { CI_JOB_TOKEN: t.w.jobToken }), "platform/clusters", "dev"),
        /Only CI_JOB_TOKEN is available, and GitLab does not accept job tokens for cluster agents/,
      );
      assert.equal(t.w.fake.countRequests(), 0);
    });

    it("says which variable to set when there is no token", async () => {
      await assert.rejects(
        ensureAgent(t.api(), "platform/clusters", "dev"),
        /needs a GitLab token in the GITLAB_TOKEN environment variable/,
      );
    });

    it("maps 401, 403 (scope and role) and 404 to what to change", async () => {
      await assert.rejects(
        ensureAgent(t.api("glpat-unknown"), "platform/clusters", "dev"),
        /rejected the token in GITLAB_TOKEN \(401 Unauthorized\)/,
      );
      await assert.rejects(
        ensureAgent(t.api(t.w.readOnlyToken), "platform/clusters", "dev"),
        /lacks the api scope \(403 insufficient_scope\)/,
      );
      await assert.rejects(
        ensureAgent(t.api(t.w.developerToken), "platform/clusters", "dev"),
        /needs to be Maintainer on platform\/clusters/,
      );
      await assert.rejects(
        ensureAgent(t.api(t.w.maintainerToken), "platform/nope", "dev"),
        /project platform\/nope was not found \(404\)/,
      );
    });

    it("never puts the token in an error message", async () => {
      const err = await ensureAgent(t.api(t.w.developerToken), "platform/clusters", "dev").catch(
        (e: Error) => e,
      );
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes(t.w.developerToken));
    });
  });

  describe("retries", () => {
    it("never resends a POST whose answer was lost: the same run finds the note instead of adding one", async () => {
      const quick = () =>
        gitlabClient(resolveConnection({ url: t.w.fake.url }, {}), {
          env: { GITLAB_TOKEN: t.w.maintainerToken },
          retry: { ...FAST, attemptTimeoutMs: 300 },
          sleep: async (ms) => {
            t.sleeps.push(ms);
          },
        });
      const iid = t.w.fake.addMergeRequest({
        projectId: t.w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: t.w.fake.state.users[0].id,
      }).iid;
      const target = { project: t.w.clustersId, mergeRequestIid: iid };
      t.w.fake.stall({ method: "POST", pathPattern: /\/notes$/ });
      const r = await upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody");
      assert.equal(r.action, "created");
      assert.equal(t.w.fake.countRequests({ method: "POST" }), 1, "the POST was sent once");
      assert.equal(t.w.fake.state.notes.length, 1, "GitLab did create it, and only it");
      const again = await upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody");
      assert.deepEqual([again.action, again.id], ["unchanged", r.id]);
      assert.equal(t.w.fake.state.notes.length, 1);
    });

    it("does retry a GET whose answer was late", async () => {
      // The first answer never comes (until the client gives up); the second is answered as usual, with an
      // attempt timeout a busy machine's local GET does not come near.
      t.w.fake.stall({ method: "GET", pathPattern: "/metadata" });
      const m = await instanceMetadata(
        gitlabClient(resolveConnection({ url: t.w.fake.url }, {}), {
          env: { GITLAB_TOKEN: t.w.maintainerToken },
          retry: { ...FAST, attemptTimeoutMs: 2_000 },
          sleep: async () => {},
        }),
      );
      assert.equal(m.kas.enabled, true);
      assert.equal(t.w.fake.countRequests({ pathPattern: "/metadata" }), 2);
    });

    it("waits as long as Retry-After says on 429, then succeeds", async () => {
      t.w.fake.failNext({ status: 429, retryAfterSeconds: 7, times: 2 });
      const m = await instanceMetadata(t.api(t.w.maintainerToken));
      assert.equal(m.kas.enabled, true);
      assert.deepEqual(t.sleeps, [7000, 7000]);
    });

    it("backs off exponentially on 502 and 500 (no Retry-After)", async () => {
      t.w.fake.failNext({ status: 502, times: 1 });
      t.w.fake.failNext({ status: 500, times: 1 });
      await instanceMetadata(t.api(t.w.maintainerToken));
      assert.equal(t.sleeps.length, 2);
      assert.ok(t.sleeps[0] >= 75 && t.sleeps[0] <= 125, String(t.sleeps[0]));
      assert.ok(t.sleeps[1] >= 150 && t.sleeps[1] <= 250, String(t.sleeps[1]));
    });

    it("gives up, bounded, with a message that names the rate limit", async () => {
      t.w.fake.failNext({ status: 429, retryAfterSeconds: 1, times: 10 });
      await assert.rejects(
        instanceMetadata(t.api(t.w.maintainerToken)),
        /answered 429 Too Many Requests to GET \/api\/v4\/metadata \(4 times\) and asked to wait 1 s \(Retry-After\): its rate limit/,
      );
      assert.equal(t.sleeps.length, 3);
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

    it("takes the attempt timeout from GITLAB_EKS_GITLAB_TIMEOUT_MS, and refuses a bad value naming it", () => {
      assert.equal(retryPolicyFromEnv({}), DEFAULT_RETRY);
      assert.deepEqual(retryPolicyFromEnv({ [TIMEOUT_VARIABLE]: " 45000 " }), {
        ...DEFAULT_RETRY,
        attemptTimeoutMs: 45_000,
      });
      for (const bad of ["30s", "0", "-5", "1.5", "99999999"])
        assert.throws(
          () => retryPolicyFromEnv({ [TIMEOUT_VARIABLE]: bad }),
          new RegExp(`GITLAB_EKS_GITLAB_TIMEOUT_MS is "${bad.replace(".", "\\.")}": .*milliseconds.*Fix: `),
        );
      // A client without an explicit policy reads it from the environment it is given, like the token.
      assert.throws(
        () =>
          gitlabClient(resolveConnection({ url: t.w.fake.url }, {}), { env: { [TIMEOUT_VARIABLE]: "x" } }),
        /GITLAB_EKS_GITLAB_TIMEOUT_MS is "x"/,
      );
    });
  });

  describe("instance facts", () => {
    it("reads KAS from /metadata, the token's scopes and the caller's role", async () => {
      const a = t.api(t.w.maintainerToken);
      const m = await instanceMetadata(a);
      assert.equal(m.kas.enabled, true);
      assert.ok(m.kas.externalUrl);
      assert.deepEqual((await tokenSelf(a)).scopes, ["api"]);
      assert.deepEqual(await projectAccess(a, "platform/clusters"), { id: t.w.clustersId, accessLevel: 40 });
    });
  });
});
