/**
 * The promotion's moves under the faults of test/support/faults.ts: a newer commit was deployed, so the
 * promotion branch is deleted and created again at it and the merge request (closed by the delete) is
 * reopened and updated; or the same commit with a new description updates the merge request. Each step
 * faulted in turn (the branch DELETE, the branch POST, the merge request PUT, and the lookups after an
 * ambiguous POST), then the next pipeline's run. After it: exactly one open merge request of the pair,
 * the same one reviewers had (its discussion kept), at the deployed commit, and one branch at it; the
 * run after that writes nothing. The real infra/gitlab module runs through gitbeaker over HTTP.
 */
import assert from "node:assert/strict";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { promoteCommit } from "../infra/gitlab/promotion";
import { TIMEOUT_VARIABLE } from "../infra/gitlab/requester";
import {
  assertNoSecretIn,
  type Fault,
  FAULTS,
  faultTheLookup,
  faultWorld,
  LOOKUP_FAULTS,
  TIMEOUT_MS,
  type Match,
  OUTAGE,
  OUTAGE_MESSAGE,
} from "./support/faults";

const MARKER = "<!-- gitlab-eks:promote project=platform-clusters stack=staging dir=. -->";
const BRANCH = "gitlab-eks/promote/main-to-staging";

describe("promotion moves through lost and ambiguous answers: faulted run, next pipeline", () => {
  const fw = faultWorld();
  let w: typeof fw.w;
  const api = () =>
    gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
      env: { GITLAB_TOKEN: w.maintainerToken, [TIMEOUT_VARIABLE]: TIMEOUT_MS },
      sleep: async () => {},
    });
  const project = () => w.fake.state.projects.find((p) => p.id === w.clustersId)!;
  const promote = (sha: string, text = "preview") =>
    promoteCommit(api(), {
      project: w.clustersId,
      sha,
      promotionBranch: BRANCH,
      targetBranch: "staging",
      title: "Promote main to staging",
      description: `${MARKER}\n${text}`,
      markers: [MARKER],
    });
  const pairMrs = () => w.fake.state.mergeRequests.filter((m) => m.sourceBranch === BRANCH);

  let first: { iid: number; sha: string };
  beforeEach(async () => {
    w = fw.w;
    w.fake.addBranch(w.clustersId, "staging", { protected: true });
    const sha = w.fake.pushCommit(w.clustersId, "main").id;
    const r = await promote(sha);
    assert.equal(r.action, "created");
    first = { iid: pairMrs()[0].iid, sha };
  });

  /** One open merge request of the pair, the one reviewers had, at `sha` with `text`; the branch at `sha`. */
  function assertConverged(sha: string, text: string) {
    assert.deepEqual(
      pairMrs().map((m) => [m.iid, m.state, m.sha, m.description]),
      [[first.iid, "opened", sha, `${MARKER}\n${text}`]],
      "the same merge request, open at the deployed commit",
    );
    assert.equal(project().branches[BRANCH]?.commitId, sha, "one promotion branch, at the deployed commit");
  }

  /**
   * The run with `inject` armed, then the next pipeline's. A POST met twice is looked up after the first
   * (the branch is there at the commit), so the second is never met; an outage fails the run.
   */
  async function faultedThenNext(inject: () => void, fault: Fault, post: boolean, text: string) {
    const next = text === "preview" ? w.fake.pushCommit(w.clustersId, "main").id : first.sha;
    inject();
    const failed = await promote(next, text).then(
      () => undefined,
      (e: Error) => e,
    );
    fw.output.push(String(failed?.message ?? ""));
    if (fault === OUTAGE) assert.match(String(failed?.message), OUTAGE_MESSAGE);
    else assert.equal(failed, undefined, String(failed?.message));
    if (fault.failsTheRun && post && fault !== OUTAGE) {
      assert.equal(w.fake.pendingFaults(), 1, "found after the first fault: no second POST");
      w.fake.clearFaults();
    }
    assert.equal(w.fake.pendingFaults(), 0, "the fault was hit");
    const again = await promote(next, text); // the next pipeline
    assert.notEqual(again.action, "created", "no second merge request");
    assertConverged(next, text);
    w.fake.clearRequests();
    assert.equal((await promote(next, text)).action, "unchanged");
    assert.deepEqual(w.fake.mutatingRequests(), [], "the run after writes nothing");
    assertNoSecretIn(w, fw.output);
  }

  /** [step, its request, the description the run writes: "preview" moves to a new commit, else same commit] */
  const STEPS: [string, Match, string][] = [
    ["the branch DELETE (moving it)", { method: "DELETE", pathPattern: /repository\/branches\// }, "preview"],
    ["the branch POST (moving it)", { method: "POST", pathPattern: /repository\/branches$/ }, "preview"],
    ["the merge request PUT reopening it", { method: "PUT", pathPattern: /merge_requests\/\d+$/ }, "preview"],
    [
      "the merge request GET after the move",
      { method: "GET", pathPattern: /merge_requests\/\d+$/ },
      "preview",
    ],
    [
      "the merge request PUT updating it",
      { method: "PUT", pathPattern: /merge_requests\/\d+$/ },
      "new preview",
    ],
  ];
  for (const [step, match, text] of STEPS)
    describe(step, () => {
      for (const fault of [...FAULTS, OUTAGE])
        it(fault.name, () =>
          faultedThenNext(() => fault.inject(w.fake, match), fault, match.method === "POST", text),
        );
    });

  describe("the lookup of the branch after its POST was answered 502 (GitLab created it)", () => {
    for (const fault of LOOKUP_FAULTS)
      it(fault.name, () =>
        faultedThenNext(
          () =>
            faultTheLookup(
              w.fake,
              { method: "POST", pathPattern: /repository\/branches$/ },
              { method: "GET", pathPattern: /repository\/branches\/gitlab-eks/ },
              fault,
            ),
          fault,
          false,
          "preview",
        ),
      );
  });
});
