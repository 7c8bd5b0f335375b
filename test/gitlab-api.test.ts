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
import { deleteEnvironment, ensureEnvironment } from "../infra/gitlab/environments";
import { deleteFile, ensureFile } from "../infra/gitlab/files";
import { instanceMetadata, projectAccess, tokenSelf } from "../infra/gitlab/instance";
import { closeIssue, upsertIssue } from "../infra/gitlab/issues";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { DEFAULT_RETRY, retryAfterMs, retryPolicyFromEnv, TIMEOUT_VARIABLE } from "../infra/gitlab/requester";
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
    it("never resends a POST whose answer was lost: the same run finds the note instead of adding one", async () => {
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
      w.fake.stall({ method: "POST", pathPattern: /\/notes$/ });
      const r = await upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody");
      assert.equal(r.action, "created");
      assert.equal(w.fake.countRequests({ method: "POST" }), 1, "the POST was sent once");
      assert.equal(w.fake.state.notes.length, 1, "GitLab did create it, and only it");
      const again = await upsertMergeRequestNote(quick(), target, "<!-- m -->", "<!-- m -->\nbody");
      assert.deepEqual([again.action, again.id], ["unchanged", r.id]);
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
        () => gitlabClient(resolveConnection({ url: w.fake.url }, {}), { env: { [TIMEOUT_VARIABLE]: "x" } }),
        /GITLAB_EKS_GITLAB_TIMEOUT_MS is "x"/,
      );
    });
  });

  describe("agents and tokens", () => {
    const OWNER = "platform-clusters/prod";
    const TAG = `[gitlab-eks:${OWNER}]`;

    it("registers an agent once; found again, it is this stack's only when its tokens or config name the stack", async () => {
      const a = api(w.maintainerToken);
      const first = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([first.created, first.adopted], [true, false]);
      await createAgentToken(a, "platform/clusters", first.agent.id, "gitlab-eks-prod-initial", {
        owner: OWNER,
      });
      w.fake.clearRequests();
      const second = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([second.created, second.adopted, second.agent.id], [false, false, first.agent.id]);
      assert.equal(w.fake.countMutatingRequests(), 0);
      await assert.rejects(
        ensureAgent(a, "platform/clusters", "prod", { owner: "platform-clusters/staging", adopt: true }),
        /belongs to gitlab-eks stack platform-clusters\/prod .*Give this stack its own gitlab-eks:agent.name/,
      );
    });

    it("refuses an agent registered by hand (glab), naming what it saw, unless adopt is set", async () => {
      const existing = w.fake.addAgent({ projectId: w.clustersId, name: "staging" });
      w.fake.addAgentToken({ agentId: existing.id, name: "glab-bootstrap-1700000000" });
      await assert.rejects(
        ensureAgent(api(w.maintainerToken), String(w.clustersId), "staging", { owner: OWNER }),
        /agent "staging" already exists .*this stack did not register it .*"glab-bootstrap-1700000000".*Set gitlab-eks:agent.adopt to true/,
      );
      const r = await ensureAgent(api(w.maintainerToken), String(w.clustersId), "staging", {
        owner: OWNER,
        adopt: true,
      });
      assert.deepEqual([r.created, r.adopted, r.agent.id], [false, true, existing.id]);
    });

    it("a lost registration is found by name in the same run, never registered twice", async () => {
      w.fake.loseAnswer({ method: "POST", pathPattern: /cluster_agents$/ });
      const r = await ensureAgent(api(w.maintainerToken), "platform/clusters", "prod", { owner: OWNER });
      assert.deepEqual([r.created, r.adopted], [true, false]);
      assert.equal(w.fake.countRequests({ method: "POST" }), 1);
      assert.equal(w.fake.state.agents.length, 1);
    });

    it("creates tokens carrying the stack, revokes only this stack's orphans, never a token it holds or another's", async () => {
      const a = api(w.maintainerToken);
      const { agent } = await ensureAgent(a, "platform/clusters", "prod", { owner: OWNER });
      const foreign = w.fake.addAgentToken({ agentId: agent.id, name: "glab-bootstrap-1700000000" });
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
      w.fake.failAfterApplying({ method: "POST", pathPattern: /\/tokens$/, status: 502, times: 2 });
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
        w.fake
          .requestsMatching({ method: "POST", pathPattern: /\/tokens$/ })
          .every((r) => r.applied ?? r.status === 201),
        "GitLab never refused a third token",
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
    it("deleting a file that is gone is done: GitLab's 400 for it is checked against the branch", async () => {
      const a = api(w.maintainerToken);
      const path = ".gitlab/agents/prod/config.yaml";
      await ensureFile(a, "platform/clusters", path, "ci_access: {}\n", { message: "agent config" });
      await deleteFile(a, "platform/clusters", path, "main", "remove");
      await deleteFile(a, "platform/clusters", path, "main", "remove again");
      assert.equal(w.fake.countRequests({ method: "DELETE", status: 400 }), 1, "GitLab said 400");
      assert.equal(w.fake.readFile(w.clustersId, "main", path), undefined);
    });

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

  describe("merge request notes: the token user's own note", () => {
    let iid: number;
    let otherId: number;
    beforeEach(() => {
      const bot = w.fake.state.users.find((u) => u.username === "platform-bot")!;
      otherId = w.fake.addUser({ username: "former-bot" }).id;
      iid = w.fake.addMergeRequest({
        projectId: w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: bot.id,
      }).iid;
    });
    const target = () => ({ project: w.clustersId, mergeRequestIid: iid });

    it("prefers the marker note written by the token's user over another user's", async () => {
      const bot = w.fake.state.users.find((u) => u.username === "platform-bot")!;
      const theirs = w.fake.addNote({
        projectId: w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: otherId,
      });
      const mine = w.fake.addNote({
        projectId: w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: bot.id,
      });
      const r = await upsertMergeRequestNote(
        api(w.maintainerToken),
        target(),
        "<!-- m -->",
        "<!-- m -->\nnew",
      );
      assert.deepEqual([r.action, r.id], ["updated", mine.id]);
      assert.equal(theirs.body, "<!-- m -->\nold");
    });

    it("another user's marker note it cannot edit: writes its own and says so, instead of failing on 403", async () => {
      w.fake.addNote({
        projectId: w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: otherId,
      });
      const log: string[] = [];
      const r = await upsertMergeRequestNote(
        api(w.maintainerToken),
        target(),
        "<!-- m -->",
        "<!-- m -->\nnew",
        {
          log: (l) => log.push(l),
        },
      );
      assert.equal(r.action, "created");
      assert.match(
        log.join("\n"),
        /written by @former-bot, and GitLab does not let @platform-bot .* edit it: wrote note \d+ instead/,
      );
      const again = await upsertMergeRequestNote(
        api(w.maintainerToken),
        target(),
        "<!-- m -->",
        "<!-- m -->\nnew",
      );
      assert.deepEqual([again.action, again.id], ["unchanged", r.id]);
      assert.equal(w.fake.state.notes.filter((n) => !n.system).length, 2);
    });

    for (const [what, inject] of [
      [
        "a 502 after applying",
        (f: GitlabWorld["fake"]) =>
          f.failAfterApplying({ method: "POST", pathPattern: /notes$/, status: 502 }),
      ],
      ["a lost answer", (f: GitlabWorld["fake"]) => f.loseAnswer({ method: "POST", pathPattern: /notes$/ })],
    ] as const)
      it(`${what}: one note, found by marker and author in the same run`, async () => {
        inject(w.fake);
        const r = await upsertMergeRequestNote(
          api(w.maintainerToken),
          target(),
          "<!-- m -->",
          "<!-- m -->\nb",
        );
        assert.equal(r.action, "created");
        assert.equal(w.fake.state.notes.length, 1);
        assert.equal(w.fake.countRequests({ method: "POST" }), 1);
      });
  });

  describe("drift issues", () => {
    const lookup = { project: "platform/clusters", marker: "<!-- drift -->", labels: ["gitlab-eks-drift"] };
    for (const [what, inject] of [
      [
        "a 504 after applying",
        (f: GitlabWorld["fake"]) =>
          f.failAfterApplying({ method: "POST", pathPattern: /issues$/, status: 504 }),
      ],
      ["a lost answer", (f: GitlabWorld["fake"]) => f.loseAnswer({ method: "POST", pathPattern: /issues$/ })],
    ] as const)
      it(`${what}: one issue, found by label and marker in the same run; closing comments once`, async () => {
        inject(w.fake);
        const r = await upsertIssue(api(w.maintainerToken), {
          ...lookup,
          title: "Drift",
          description: "<!-- drift -->\nd",
        });
        assert.equal(r.action, "created");
        assert.equal(w.fake.state.issues.length, 1);
        w.fake.loseAnswer({ method: "POST", pathPattern: /notes$/ });
        await closeIssue(api(w.maintainerToken), lookup, "No drift any more.");
        assert.equal(
          w.fake.state.notes.filter((n) => !n.system && n.body === "No drift any more.").length,
          1,
        );
        assert.equal(w.fake.state.issues[0].state, "closed");
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
