/** infra/gitlab/promotion.ts against the fake GitLab server, over real HTTP with real gitbeaker. */
import assert from "node:assert/strict";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { deployedCommit } from "../infra/gitlab/environments";
import { promoteCommit, type PromotionResult, type PromotionSpec } from "../infra/gitlab/promotion";
import { DEFAULT_RETRY } from "../infra/gitlab/requester";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

const MARKER = "<!-- gitlab-eks:promote project=platform-clusters stack=staging dir=. -->";

describe("promotion of the deployed commit (infra/gitlab/promotion)", () => {
  let w: GitlabWorld;
  let spec: PromotionSpec;
  const api = () =>
    gitlabClient(resolveConnection({ url: w.fake.url }, {}), { env: { GITLAB_TOKEN: w.developerToken } });
  const mutations = () => w.fake.mutatingRequests().map((r) => `${r.route} ${r.status}`);
  const brief = (r: PromotionResult) => ({ action: r.action, moved: "moved" in r ? r.moved : undefined });

  beforeEach(async () => {
    w = await gitlabWorld();
    w.fake.addBranch(w.clustersId, "staging", { protected: true });
    const sha = w.fake.pushCommit(w.clustersId, "main").id;
    spec = {
      project: w.clustersId,
      sha,
      promotionBranch: "gitlab-eks/promote/main-to-staging",
      targetBranch: "staging",
      title: "Promote main to staging",
      description: `${MARKER}\nthe text`,
      markers: [MARKER],
    };
  });
  afterEach(() => w.fake.close());

  it("creates the branch at the commit and one merge request that removes it on merge; a re-run changes nothing", async () => {
    const first = await promoteCommit(api(), spec);
    assert.deepEqual(brief(first), { action: "created", moved: true });
    const [mr] = w.fake.state.mergeRequests;
    assert.equal(mr.sha, spec.sha);
    assert.equal(mr.removeSourceBranch, true);
    w.fake.clearRequests();
    const again = await promoteCommit(api(), spec);
    assert.deepEqual(brief(again), { action: "unchanged", moved: false });
    assert.deepEqual(mutations(), []);
  });

  it("a merge request closed by a user is not reopened: the next run opens a new one", async () => {
    await promoteCommit(api(), spec);
    w.fake.state.mergeRequests[0].state = "closed";
    const r = await promoteCommit(api(), spec);
    assert.equal(r.action, "created");
    assert.deepEqual(
      w.fake.state.mergeRequests.map((m) => m.state),
      ["closed", "opened"],
    );
  });

  it("closed by a user, then a newer commit deployed: the closed one stays closed and a new one is opened", async () => {
    await promoteCommit(api(), spec);
    w.fake.state.mergeRequests[0].state = "closed";
    const next = w.fake.pushCommit(w.clustersId, "main").id;
    const r = await promoteCommit(api(), { ...spec, sha: next });
    assert.deepEqual(brief(r), { action: "created", moved: true });
    assert.deepEqual(
      w.fake.state.mergeRequests.map((m) => [m.state, m.sha]),
      [
        ["closed", spec.sha],
        ["opened", next],
      ],
    );
  });

  it("a run that stopped after deleting the branch (the merge request closed with it): the next one reopens the same merge request at the newest commit", async () => {
    await promoteCommit(api(), spec);
    const [mr] = w.fake.state.mergeRequests;
    const next = w.fake.pushCommit(w.clustersId, "main").id;
    w.fake.failNext({
      method: "POST",
      pathPattern: /repository\/branches$/,
      status: 429,
      retryAfterSeconds: 0,
      times: DEFAULT_RETRY.maxAttempts,
    });
    await assert.rejects(promoteCommit(api(), { ...spec, sha: next }), /429/);
    assert.equal(mr.state, "closed", "GitLab closed it with its source branch");
    const newest = w.fake.pushCommit(w.clustersId, "main").id;
    const r = await promoteCommit(api(), { ...spec, sha: newest });
    assert.deepEqual(brief(r), { action: "reopened", moved: true });
    assert.deepEqual(
      w.fake.state.mergeRequests.map((m) => [m.iid, m.state, m.sha]),
      [[mr.iid, "opened", newest]],
    );
  });

  it("an open merge request for the same branches without the marker (another user's) is not touched: the run fails naming it, before the branch moves", async () => {
    await promoteCommit(api(), spec);
    const [ours] = w.fake.state.mergeRequests;
    ours.state = "merged";
    const other = w.fake.addMergeRequest({
      projectId: w.clustersId,
      sourceBranch: spec.promotionBranch,
      targetBranch: "staging",
      title: "my own change on the promotion branch",
      description: "hand-written",
      authorId: w.fake.state.users.find((u) => u.username === "platform-bot")!.id,
    });
    const next = w.fake.pushCommit(w.clustersId, "main").id;
    w.fake.clearRequests();
    await assert.rejects(
      promoteCommit(api(), { ...spec, sha: next }),
      new RegExp(
        `merge request !${other.iid} from gitlab-eks/promote/main-to-staging into staging is open and is not this ` +
          "stack's promotion \\(its description does not start with <!-- gitlab-eks:promote project=platform-clusters " +
          `stack=staging dir=. -->\\)\\. .*Close or merge !${other.iid} .*then run the promote job again`,
      ),
    );
    assert.deepEqual(mutations(), [], "nothing written: the branch stays, their merge request stays open");
    assert.deepEqual(
      [other.state, other.title, other.description],
      ["opened", "my own change on the promotion branch", "hand-written"],
    );
    other.state = "closed";
    const r = await promoteCommit(api(), { ...spec, sha: next });
    assert.deepEqual(brief(r), { action: "created", moved: true }, "their closed one is not reopened");
    assert.equal(other.state, "closed");
    assert.equal(other.description, "hand-written");
  });

  it("this stack's merge request with the older marker (no project=) is found and takes the new one", async () => {
    const legacy = "<!-- gitlab-eks:promote stack=staging dir=. -->";
    await promoteCommit(api(), { ...spec, description: `${legacy}\nold text`, markers: [legacy] });
    const r = await promoteCommit(api(), { ...spec, markers: [MARKER, legacy] });
    assert.equal(r.action, "updated");
    assert.deepEqual(
      w.fake.state.mergeRequests.map((m) => [m.state, m.description]),
      [["opened", spec.description]],
    );
  });

  it("a protected promotion branch cannot be moved, and the error says so", async () => {
    await promoteCommit(api(), spec);
    w.fake.state.projects.find((p) => p.id === w.clustersId)!.branches[spec.promotionBranch].protected = true;
    const next = w.fake.pushCommit(w.clustersId, "main").id;
    await assert.rejects(
      promoteCommit(api(), { ...spec, sha: next }),
      /Cannot delete branch gitlab-eks\/promote\/main-to-staging: GitLab answered 405: Protected branch cant be removed/,
    );
  });

  it("what an environment runs is its last successful deployment to finish, not the newest one created", async () => {
    const project = String(w.clustersId);
    assert.equal(await deployedCommit(api(), project, "dev"), undefined, "no such environment");
    w.fake.addEnvironment({ projectId: w.clustersId, name: "dev" });
    assert.equal(await deployedCommit(api(), project, "dev"), null, "never deployed");
    const older = w.fake.pushCommit(w.clustersId, "main").id;
    const newer = w.fake.pushCommit(w.clustersId, "main").id;
    const dep = (sha: string, status?: "failed") =>
      w.fake.addDeployment({ projectId: w.clustersId, environment: "dev", sha, ref: "main", status });
    const first = dep(newer);
    const late = dep(older);
    dep(newer, "failed");
    first.finishedAt = "2026-01-01T10:00:00.000Z";
    late.finishedAt = "2026-01-01T10:05:00.000Z";
    assert.equal(await deployedCommit(api(), project, "dev"), older);
  });

  it("with an environment, only the commit it runs is promoted; an unknown environment is said, not fatal", async () => {
    const unknown = await promoteCommit(api(), { ...spec, environment: "dev" });
    assert.equal(unknown.action, "created");
    assert.equal("unknownEnvironment" in unknown && unknown.unknownEnvironment, true);
    const newer = w.fake.pushCommit(w.clustersId, "main").id;
    w.fake.addDeployment({ projectId: w.clustersId, environment: "dev", sha: newer, ref: "main" });
    w.fake.clearRequests();
    const late = await promoteCommit(api(), { ...spec, environment: "dev" });
    assert.deepEqual(late, { action: "not-running", running: newer });
    assert.deepEqual(mutations(), [], "the promotion stays at what it was");
    const current = await promoteCommit(api(), { ...spec, sha: newer, environment: "dev" });
    assert.deepEqual(brief(current), { action: "reopened", moved: true });
    assert.equal("unknownEnvironment" in current && current.unknownEnvironment, undefined);
  });

  it("a commit GitLab does not have is refused by GitLab, with its message", async () => {
    await assert.rejects(
      promoteCommit(api(), { ...spec, sha: "f".repeat(40) }),
      /Cannot list the branches that contain commit ffffffff: commit f{40} in project \d+ \(was it pushed to GitLab\?\) was not found \(404\)/,
    );
  });
});
