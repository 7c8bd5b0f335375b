/**
 * The CI helper's GitLab objects (MR note, promotion branch and MR, drift issue and its closing comment)
 * driven through the faults of test/support/faults.ts: the faulted create, and the edits and the
 * close with their PUT faulted; then the next pipeline's run. One of each, and no token in any output.
 * The real infra/gitlab module runs through gitbeaker over HTTP.
 */
import assert from "node:assert/strict";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { closeIssue, upsertIssue } from "../infra/gitlab/issues";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { promoteCommit } from "../infra/gitlab/promotion";
import { TIMEOUT_VARIABLE } from "../infra/gitlab/requester";
import {
  assertFaultedRun,
  assertNoSecretIn,
  FAULTS,
  faultTheLookup,
  faultWorld,
  LOOKUP_FAULTS,
  RESENT_FAULTS,
  TIMEOUT_MS,
  type Match,
  OUTAGE_MESSAGE,
} from "./support/faults";

const PROJECT = "platform/clusters";

describe("CI helper objects through lost and ambiguous answers: faulted run, next pipeline", () => {
  const fw = faultWorld();
  let w: typeof fw.w;
  beforeEach(() => {
    w = fw.w;
  });

  describe("CI helper objects: MR note, promotion branch and MR, drift issue", () => {
    const api = () =>
      gitlabClient(resolveConnection({ url: w.fake.url }, {}), {
        env: { GITLAB_TOKEN: w.maintainerToken, [TIMEOUT_VARIABLE]: TIMEOUT_MS },
        sleep: async () => {},
      });
    const ci: [string, Match, () => Promise<unknown>, () => void][] = [
      [
        "MR note",
        { method: "POST", pathPattern: /merge_requests\/\d+\/notes$/ },
        () =>
          upsertMergeRequestNote(
            api(),
            { project: w.clustersId, mergeRequestIid: w.fake.state.mergeRequests[0].iid },
            "<!-- gitlab-eks:preview -->",
            "<!-- gitlab-eks:preview -->\nno changes",
          ),
        () => assert.equal(w.fake.state.notes.filter((n) => !n.system).length, 1, "one note"),
      ],
      [
        "promotion branch",
        { method: "POST", pathPattern: /repository\/branches$/ },
        () => promote(),
        () => assert.equal(w.fake.state.mergeRequests.filter((m) => m.targetBranch === "staging").length, 1),
      ],
      [
        "promotion MR",
        { method: "POST", pathPattern: /merge_requests$/ },
        () => promote(),
        () =>
          assert.equal(
            w.fake.state.mergeRequests.filter((m) => m.targetBranch === "staging").length,
            1,
            "one MR",
          ),
      ],
      [
        "drift issue",
        { method: "POST", pathPattern: /issues$/ },
        () =>
          upsertIssue(api(), {
            project: PROJECT,
            marker: "<!-- gitlab-eks:drift -->",
            labels: ["gitlab-eks-drift"],
            title: "Drift in production",
            description: "<!-- gitlab-eks:drift -->\n1 change",
          }),
        () => assert.equal(w.fake.state.issues.length, 1, "one issue"),
      ],
      [
        "drift issue's closing comment",
        { method: "POST", pathPattern: /issues\/\d+\/notes$/ },
        async () => {
          const lookup = { project: PROJECT, marker: "<!-- m -->", labels: ["gitlab-eks-drift"] };
          if (!w.fake.state.issues.length)
            await upsertIssue(api(), { ...lookup, title: "Drift", description: "<!-- m -->\nx" });
          await closeIssue(api(), lookup, "No drift any more.");
        },
        () =>
          assert.equal(
            w.fake.state.notes.filter((n) => !n.system && n.body === "No drift any more.").length,
            1,
            "one comment",
          ),
      ],
    ];
    const promote = () => {
      const sha = w.fake.state.projects.find((p) => p.id === w.clustersId)!.branches.main.commitId;
      return promoteCommit(api(), {
        project: w.clustersId,
        sha,
        promotionBranch: "gitlab-eks/promote/main-to-staging",
        targetBranch: "staging",
        title: "Promote main to staging",
        description: "<!-- gitlab-eks:promote stack=staging dir=. -->\nd",
        markers: ["<!-- gitlab-eks:promote stack=staging dir=. -->"],
      });
    };

    beforeEach(() => {
      const bot = w.fake.state.users.find((u) => u.username === "platform-bot")!;
      w.fake.addBranch(w.clustersId, "staging", { protected: true });
      w.fake.pushCommit(w.clustersId, "main");
      w.fake.addMergeRequest({
        projectId: w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: bot.id,
      });
    });

    for (const [object, match, run, assertOne] of ci)
      describe(object, () => {
        for (const fault of FAULTS)
          it(fault.name, async () => {
            fault.inject(w.fake, match);
            const failed = await run().then(
              () => undefined,
              (e: Error) => e,
            );
            fw.output.push(String(failed?.message ?? ""));
            assertFaultedRun(w.fake, failed, fault, false, match);
            await run(); // the re-run (the next pipeline)
            assertOne();
            await run();
            assertOne();
            assertNoSecretIn(w, fw.output);
          });
      });

    /**
     * The create answered 502 after GitLab applied it, then the lookup after it faulted too: ridden out
     * (a GET is resent), or past every attempt the run fails; the next pipeline finds what was created.
     */
    const lookups: Record<string, Match> = {
      "MR note": { method: "GET", pathPattern: /merge_requests\/\d+\/notes$/ },
      "promotion MR": { method: "GET", pathPattern: /merge_requests$/ },
      "drift issue": { method: "GET", pathPattern: /issues$/ },
    };
    for (const [object, match, run, assertOne] of ci.filter(([o]) => o in lookups))
      describe(`${object}: the lookup after its create was answered 502`, () => {
        for (const fault of LOOKUP_FAULTS)
          it(fault.name, async () => {
            faultTheLookup(w.fake, match, lookups[object], fault);
            const failed = await run().then(
              () => undefined,
              (e: Error) => e,
            );
            fw.output.push(String(failed?.message ?? ""));
            if (fault.failsTheRun) assert.match(String(failed?.message), OUTAGE_MESSAGE);
            else assert.equal(failed, undefined, String(failed?.message));
            assert.equal(w.fake.pendingFaults(), 0, "the create and its lookup were both faulted");
            await run(); // the next pipeline
            assertOne();
            assertNoSecretIn(w, fw.output);
          });
      });

    /** Editing the note and the issue, and closing the issue, with the PUT faulted: resent, done in the run. */
    const note = (text: string) =>
      upsertMergeRequestNote(
        api(),
        { project: w.clustersId, mergeRequestIid: w.fake.state.mergeRequests[0].iid },
        "<!-- gitlab-eks:preview -->",
        `<!-- gitlab-eks:preview -->\n${text}`,
      );
    const lookup = { project: PROJECT, marker: "<!-- gitlab-eks:drift -->", labels: ["gitlab-eks-drift"] };
    const issue = (text: string) =>
      upsertIssue(api(), { ...lookup, title: "Drift", description: `<!-- gitlab-eks:drift -->\n${text}` });
    const edits: [string, Match, () => Promise<unknown>, () => Promise<unknown>, () => void][] = [
      [
        "MR note: editing it",
        { method: "PUT", pathPattern: /merge_requests\/\d+\/notes\/\d+$/ },
        () => note("no changes"),
        () => note("1 to create"),
        () =>
          assert.deepEqual(
            w.fake.state.notes.filter((n) => !n.system).map((n) => n.body),
            ["<!-- gitlab-eks:preview -->\n1 to create"],
          ),
      ],
      [
        "drift issue: editing it",
        { method: "PUT", pathPattern: /issues\/\d+$/ },
        () => issue("1 change"),
        () => issue("2 changes"),
        () =>
          assert.deepEqual(
            w.fake.state.issues.map((i) => [i.state, i.description]),
            [["opened", "<!-- gitlab-eks:drift -->\n2 changes"]],
          ),
      ],
      [
        "drift issue: closing it",
        { method: "PUT", pathPattern: /issues\/\d+$/ },
        () => issue("1 change"),
        () => closeIssue(api(), lookup, "No drift any more."),
        () => {
          assert.deepEqual(
            w.fake.state.issues.map((i) => i.state),
            ["closed"],
          );
          assert.equal(w.fake.state.notes.filter((n) => !n.system).length, 1, "one closing comment");
        },
      ],
    ];
    for (const [object, match, before, run, assertDone] of edits)
      describe(object, () => {
        for (const fault of RESENT_FAULTS)
          it(fault.name, async () => {
            await before();
            fault.inject(w.fake, match);
            await run();
            assert.equal(w.fake.pendingFaults(), 0, "the fault was hit");
            assertDone();
            await run(); // the next pipeline changes nothing more
            assertDone();
            assertNoSecretIn(w, fw.output);
          });
      });
  });
});
