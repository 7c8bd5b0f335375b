/**
 * The fake GitLab, driven by the real @gitbeaker/rest: merge requests, their notes, and issues. The tests of this file share one fake
 * (test/support/fake-gitlab-suite.ts) and build on each other's objects, in order.
 */
import * as assert from "node:assert/strict";
import { Gitlab } from "@gitbeaker/rest";
import { fakeSuite, httpError, statusOf, SUITE_PATH } from "./support/fake-gitlab-suite";

describe("fake GitLab (driven by real @gitbeaker/rest): merge requests, notes, issues", function () {
  const s = fakeSuite();
  const client = (token: string) => new Gitlab({ host: s.fake.url, token });

  describe("merge requests and notes", function () {
    it("a second open MR for the same branches is 409", async function () {
      s.fake.addBranch(s.project.id, "promote/prod");
      const api = client(s.tokens.devApi);
      const mr = await api.MergeRequests.create(SUITE_PATH, "promote/prod", "main", "Promote to prod", {
        description: "body",
        labels: "promotion,prod",
      });
      assert.equal(mr.iid, 1);
      assert.deepEqual(mr.labels, ["promotion", "prod"]);
      const err = await httpError(api.MergeRequests.create(SUITE_PATH, "promote/prod", "main", "Again"));
      assert.equal(statusOf(err), 409);
      assert.equal(
        err.cause?.description,
        JSON.stringify(["Another open merge request already exists for this source branch: !1"]),
      );

      const found = await api.MergeRequests.all({
        projectId: SUITE_PATH,
        state: "opened",
        sourceBranch: "promote/prod",
        labels: "prod",
      });
      assert.deepEqual(
        found.map((m) => m.iid),
        [1],
      );
      assert.deepEqual(await api.MergeRequests.all({ projectId: SUITE_PATH, state: "merged" }), []);
      const edited = await api.MergeRequests.edit(SUITE_PATH, 1, {
        title: "Promote prod",
        addLabels: "ready",
      });
      assert.equal(edited.title, "Promote prod");
      assert.deepEqual(edited.labels, ["promotion", "prod", "ready"]);
      const missingBranch = await httpError(api.MergeRequests.create(SUITE_PATH, "nope", "main", "x"));
      assert.equal(statusOf(missingBranch), 422);
    });

    it("MergeRequestNotes create / edit / all", async function () {
      const api = client(s.tokens.devApi);
      const note = await api.MergeRequestNotes.create(SUITE_PATH, 1, "Plan: 3 to add");
      assert.equal(note.body, "Plan: 3 to add");
      assert.equal(note.noteable_type, "MergeRequest");
      const edited = await api.MergeRequestNotes.edit(SUITE_PATH, 1, note.id, { body: "Plan: 4 to add" });
      assert.equal(edited.body, "Plan: 4 to add");
      const notes = await api.MergeRequestNotes.all(SUITE_PATH, 1);
      assert.deepEqual(
        notes.map((n) => n.id),
        [note.id],
      );
      const notAuthor = await httpError(
        client(s.tokens.maintApi).MergeRequestNotes.edit(SUITE_PATH, 1, note.id, { body: "hijack" }),
      );
      assert.equal(statusOf(notAuthor), 403);
      const noMr = await httpError(api.MergeRequestNotes.create(SUITE_PATH, 99, "x"));
      assert.equal(noMr.cause?.description, "404 MergeRequest Not Found");
    });

    it("a CI job token may read MRs and notes but not write them", async function () {
      const job = new Gitlab({ host: s.fake.url, jobToken: s.jobToken });
      const mrs = await job.MergeRequests.all({ projectId: s.project.id });
      assert.ok(mrs.length >= 1);
      assert.ok((await job.MergeRequestNotes.all(s.project.id, 1)).length >= 1);
      const write = await httpError(job.MergeRequestNotes.create(s.project.id, 1, "from CI"));
      assert.equal(statusOf(write), 401);
      const mrWrite = await httpError(job.MergeRequests.create(s.project.id, "promote/prod", "main", "x"));
      assert.equal(statusOf(mrWrite), 401);
    });
  });

  describe("issues", function () {
    it("create / all with filters / edit, and issue notes", async function () {
      const api = client(s.tokens.devApi);
      const a = await api.Issues.create(SUITE_PATH, "Drift detected in prod", {
        labels: "drift,prod",
        description: "plan",
      });
      await api.Issues.create(SUITE_PATH, "Unrelated", { labels: "other" });
      const drift = await api.Issues.all({ projectId: SUITE_PATH, labels: "drift", state: "opened" });
      assert.deepEqual(
        drift.map((i) => i.iid),
        [a.iid],
      );
      const searched = await api.Issues.all({ projectId: SUITE_PATH, search: "drift" });
      assert.deepEqual(
        searched.map((i) => i.iid),
        [a.iid],
      );
      const closed = await api.Issues.edit(SUITE_PATH, a.iid, { stateEvent: "close" });
      assert.equal(closed.state, "closed");
      assert.ok(closed.closed_at);
      assert.equal((closed.closed_by as { username?: string } | null)?.username, "dev");
      const again = await api.Issues.edit(SUITE_PATH, a.iid, { stateEvent: "close" });
      assert.equal(again.closed_at, closed.closed_at, "closing a closed issue changes nothing");
      const note = await api.IssueNotes.create(SUITE_PATH, a.iid, "closing");
      const notes = await api.IssueNotes.all(SUITE_PATH, a.iid, { sort: "asc" });
      // GitLab records the state change as ONE system note "closed", listed with the comments.
      assert.deepEqual(
        notes.map((n) => [n.body, n.system]),
        [
          ["closed", true],
          ["closing", false],
        ],
      );
      assert.equal(notes[1].id, note.id);
      const reopened = await api.Issues.edit(SUITE_PATH, a.iid, { stateEvent: "reopen" });
      assert.equal(reopened.state, "opened");
      assert.equal(reopened.closed_at, null);
    });
  });
});
