/**
 * `gitlab-eks ci promote` (the component's promote step) against the fake GitLab, run as a user runs it:
 * the promotion merge request carries the helper's marker and is found again by it; a merge request for
 * the same branches without it (another user's) is neither edited nor reopened, and the step fails
 * naming it before it moves the branch.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { marker } from "../infra/ci/render";
import { cliAsync } from "./support/cli";
import { processTimeout } from "./support/gcl";
import { consumerWorld, type ConsumerWorld } from "./support/gitlab-world";

const BRANCH = "gitlab-eks/promote/main-to-staging";

describe("gitlab-eks ci promote: the promotion merge request found by its marker", function () {
  this.timeout(processTimeout(4));
  let world: ConsumerWorld;
  let dir: string;
  beforeEach(async () => {
    world = await consumerWorld();
    world.fake.addBranch(world.projectId, "staging", { protected: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-promote-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: infra-live\nruntime: nodejs\n");
  });
  afterEach(() => world.fake.close());

  const promote = (sha: string) =>
    cliAsync(["ci", "promote", "--stack", "staging", "--from-stack", "dev", "--target-branch", "staging"], {
      cwd: dir,
      env: {
        CI_SERVER_URL: world.fake.url,
        CI_PROJECT_ID: String(world.projectId),
        CI_COMMIT_BRANCH: "main",
        CI_COMMIT_SHA: sha,
        GITLAB_EKS_TOKEN: world.token,
        CI_MERGE_REQUEST_IID: "",
        CI_JOB_TOKEN: "",
      },
    });
  const promotions = () => world.fake.state.mergeRequests.filter((m) => m.sourceBranch === BRANCH);

  it("opens it with the marker, then finds it by the marker and moves it to the next deployed commit", async () => {
    const first = world.fake.pushCommit(world.projectId, "main").id;
    const r1 = await promote(first);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /promotion merge request !\d+ created/);
    const [mr] = promotions();
    assert.ok(mr.description?.startsWith(marker("promote", "staging", ".", "infra-live")));
    const next = world.fake.pushCommit(world.projectId, "main").id;
    const r2 = await promote(next);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(
      r2.stdout,
      new RegExp(`promotion merge request !${mr.iid} reopened: main@${next.slice(0, 8)}`),
    );
    assert.deepEqual(
      promotions().map((m) => [m.iid, m.state, m.sha]),
      [[mr.iid, "opened", next]],
    );
  });

  it("another user's open merge request from the promotion branch is left alone: the step fails naming it", async () => {
    const sha = world.fake.pushCommit(world.projectId, "main").id;
    world.fake.addBranch(world.projectId, BRANCH, { from: "main" });
    const theirs = world.fake.addMergeRequest({
      projectId: world.projectId,
      sourceBranch: BRANCH,
      targetBranch: "staging",
      title: "hand-made promotion",
      description: "please review",
      authorId: world.botId,
    });
    world.fake.clearRequests();
    const r = await promote(sha);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^GitLab API: Cannot promote ${sha.slice(0, 8)} to staging: merge request !${theirs.iid} from ${BRANCH} into ` +
          "staging is open and is not this stack's promotion",
      ),
    );
    assert.match(r.stderr, new RegExp(`Close or merge !${theirs.iid} \\(http`));
    assert.deepEqual(world.fake.mutatingRequests(), [], "nothing written");
    assert.deepEqual(
      [theirs.state, theirs.title, theirs.description],
      ["opened", "hand-made promotion", "please review"],
    );
    assert.ok(!r.stderr.includes(world.token) && !r.stdout.includes(world.token));
  });
});
