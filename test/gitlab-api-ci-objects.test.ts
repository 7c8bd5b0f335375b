/**
 * The GitLab API module (infra/gitlab) against the fake GitLab: the CI helper's merge request notes and
 * drift issues. Over real HTTP with real gitbeaker.
 */
import assert from "node:assert/strict";
import { closeIssue, upsertIssue } from "../infra/gitlab/issues";
import { upsertMergeRequestNote } from "../infra/gitlab/mergeRequestNotes";
import { apiWorld } from "./support/gitlab-api-world";
import { type GitlabWorld } from "./support/gitlab-world";

describe("GitLab API module: MR notes and drift issues", () => {
  const t = apiWorld();

  describe("merge request notes: the token user's own note", () => {
    let iid: number;
    let otherId: number;
    beforeEach(() => {
      const bot = t.w.fake.state.users.find((u) => u.username === "platform-bot")!;
      otherId = t.w.fake.addUser({ username: "former-bot" }).id;
      iid = t.w.fake.addMergeRequest({
        projectId: t.w.clustersId,
        sourceBranch: "feature",
        targetBranch: "main",
        title: "t",
        authorId: bot.id,
      }).iid;
    });
    const target = () => ({ project: t.w.clustersId, mergeRequestIid: iid });

    it("prefers the marker note written by the token's user over another user's", async () => {
      const bot = t.w.fake.state.users.find((u) => u.username === "platform-bot")!;
      const theirs = t.w.fake.addNote({
        projectId: t.w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: otherId,
      });
      const mine = t.w.fake.addNote({
        projectId: t.w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: bot.id,
      });
      const r = await upsertMergeRequestNote(
        t.api(t.w.maintainerToken),
        target(),
        "<!-- m -->",
        "<!-- m -->\nnew",
      );
      assert.deepEqual([r.action, r.id], ["updated", mine.id]);
      assert.equal(theirs.body, "<!-- m -->\nold");
    });

    it("another user's marker note it cannot edit: writes its own and says so, instead of failing on 403", async () => {
      t.w.fake.addNote({
        projectId: t.w.clustersId,
        noteableType: "MergeRequest",
        noteableIid: iid,
        body: "<!-- m -->\nold",
        authorId: otherId,
      });
      const log: string[] = [];
      const r = await upsertMergeRequestNote(
        t.api(t.w.maintainerToken),
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
        t.api(t.w.maintainerToken),
        target(),
        "<!-- m -->",
        "<!-- m -->\nnew",
      );
      assert.deepEqual([again.action, again.id], ["unchanged", r.id]);
      assert.equal(t.w.fake.state.notes.filter((n) => !n.system).length, 2);
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
        inject(t.w.fake);
        const r = await upsertMergeRequestNote(
          t.api(t.w.maintainerToken),
          target(),
          "<!-- m -->",
          "<!-- m -->\nb",
        );
        assert.equal(r.action, "created");
        assert.equal(t.w.fake.state.notes.length, 1);
        assert.equal(t.w.fake.countRequests({ method: "POST" }), 1);
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
        inject(t.w.fake);
        const r = await upsertIssue(t.api(t.w.maintainerToken), {
          ...lookup,
          title: "Drift",
          description: "<!-- drift -->\nd",
        });
        assert.equal(r.action, "created");
        assert.equal(t.w.fake.state.issues.length, 1);
        t.w.fake.loseAnswer({ method: "POST", pathPattern: /notes$/ });
        await closeIssue(t.api(t.w.maintainerToken), lookup, "No drift any more.");
        assert.equal(
          t.w.fake.state.notes.filter((n) => !n.system && n.body === "No drift any more.").length,
          1,
        );
        assert.equal(t.w.fake.state.issues[0].state, "closed");
      });
  });
});
