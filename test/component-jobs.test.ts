/**
 * The CI/CD component as a consumer project uses it: the fixture includes `pipeline` three times (dev,
 * staging, production), gitlab-ci-local evaluates the pipelines GitLab would create and runs the jobs with
 * the shell executor, a stand-in `pulumi` (test/fixtures/bin/pulumi, replaying Pulumi's JSON) and the fake
 * GitLab API. gitlab-ci-local is slow (about 1.5 s a run on an idle machine, many times that on a busy
 * one), so each scenario runs once in a `before` and its assertions share the result; independent jobs
 * run at the same time, and each suite's timeout is sized from the runs it makes (gclTimeout), never a
 * fixed figure a loaded machine can miss.
 *
 * This file: the jobs run against the fake GitLab (MR previews and notes, up and promotion, drift issues).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { gclTimeout, jobLogs } from "./support/gcl";
import { ID_TOKEN } from "./support/component";
import { runComponentJobs, type ComponentJobs } from "./support/component-jobs";

describe("CI/CD component: jobs run (gitlab-ci-local --force-shell-executor, stand-in pulumi, fake GitLab)", function () {
  this.timeout(gclTimeout(17));
  // Every chain runs once (test/support/component-jobs.ts); the tests below read what it left.
  let j: ComponentJobs;
  before(async () => {
    j = await runComponentJobs();
  });

  after(async () => {
    await j?.fake?.close();
  });

  it("the preview posts ONE note on the merge request and edits it on the next run", () => {
    assert.equal(j.runs.preview1.code, 0, j.runs.preview1.stdout);
    assert.match(j.runs.preview1.stdout, /MR note created on !1/);
    assert.equal(j.runs.preview2.code, 0, j.runs.preview2.stdout);
    assert.match(j.runs.preview2.stdout, /MR note updated on !1/);
    assert.deepEqual(j.noteRequests, ["POST 201", "PUT 200"]);
    const notes = j.mrNotes();
    assert.equal(notes.length, 1);
    assert.match(
      j.secondNote,
      /^<!-- gitlab-eks:preview project=infra-live stack=dev dir=\. -->\n#### Pulumi preview for stack `dev`: no changes/,
    );
    assert.match(j.secondNote, new RegExp(`<sub>commit \`${j.firstSha.slice(0, 8)}\` · \\[job log\\]`));
  });

  it("a merged-results pipeline edits the same note, names the merged heads, and writes the widget report", () => {
    assert.equal(j.runs.previewMerged.code, 0, j.runs.previewMerged.stdout + j.runs.previewMerged.stderr);
    assert.match(j.runs.previewMerged.stdout, /MR note updated on !1/);
    assert.deepEqual(j.mergedNoteRequests, ["PUT 200"], "the one note is edited, never a second one posted");
    const notes = j.mrNotes();
    assert.equal(notes.length, 1);
    assert.equal(notes[0].body, j.mergedNote);
    assert.match(j.mergedNote, /^#### Pulumi preview for stack `dev`: 3 to create, 0 to update/m);
    assert.match(
      j.mergedNote,
      /<sub>merged result of `11111111` into `main` at `22222222` · \[job log\]\(.*\) · \[pipeline\]\(.*\) · posted by gitlab-eks<\/sub>/,
    );
    assert.ok(!j.mergedNote.includes(j.firstSha.slice(0, 8)), "not the temporary merge commit");
    assert.deepEqual(JSON.parse(j.runs.mergedReport.stdout), { create: 3, update: 0, delete: 0 });
  });

  it("the note puts the summary first and the per-resource diff in a collapsed block", () => {
    // The real CLI's first preview of the fixture consumer program (test/fixtures/pulumi-captured); how
    // updates, replacements, deletions and secrets are shown is tested in test/ci-helper.test.ts.
    const lines = j.firstNote.split("\n");
    assert.equal(lines[0], "<!-- gitlab-eks:preview project=infra-live stack=dev dir=. -->");
    assert.equal(
      lines[1],
      "#### Pulumi preview for stack `dev`: 3 to create, 0 to update, 0 to replace, 0 to delete (0 unchanged)",
    );
    assert.ok(j.firstNote.indexOf("| 3 | 0 | 0 | 0 | 0 |") < j.firstNote.indexOf("<details>"));
    assert.match(j.firstNote, /<details><summary>Per-resource diff \(2 resources\)<\/summary>\n\n```diff\n/);
    assert.match(
      j.firstNote,
      /^\+ pulumi-nodejs:dynamic\/real-consumer:Record record \(create\)\n\+ {5}content: "hello"$/m,
    );
    assert.match(
      j.firstNote,
      /^\+ pulumi-nodejs:dynamic\/real-consumer:Gate gate \(create\)\n\+ {5}fail: false$/m,
    );
    assert.ok(!j.firstNote.includes("__provider"), "the dynamic provider's serialized code is not shown");
  });

  it("writes the merge request widget report with Pulumi's counts (a replacement counts as create and delete)", () => {
    assert.deepEqual(JSON.parse(j.runs.report.stdout), { create: 3, update: 0, delete: 0 });
  });

  it("without a token the preview still succeeds and says why no note was posted", () => {
    assert.equal(j.runs.previewNoToken.code, 0);
    const log = j.runs.previewNoToken.stdout + j.runs.previewNoToken.stderr;
    assert.match(log, /stack dev: 3 to create/);
    assert.match(log, /no MR note posted \(the preview itself succeeded\)/);
    assert.match(log, /GITLAB_EKS_TOKEN environment variable/);
    assert.match(log, /Only CI_JOB_TOKEN is available/);
  });

  it("up deploys with the deploy role and exports only non-secret outputs, and the environment URL", () => {
    assert.equal(j.runs.up.code, 0, j.runs.up.stdout);
    assert.equal(
      j.runs.dotenv.stdout,
      [
        "PULUMI_OUTPUT_GREETING=hello (5 characters)",
        "PULUMI_OUTPUT_URL=https://real-consumer.example/dev/5",
        "ENVIRONMENT_URL=https://real-consumer.example/dev/5",
        "",
      ].join("\n"),
    );
    const calls = Object.values(j.repos)
      .map((r) => fs.readFileSync(r!.pulumiLog, "utf8"))
      .join("");
    assert.match(
      calls,
      /^up --yes --non-interactive --skip-preview --stack dev\t.*web_identity=arn:aws:iam::111122223333:role\/pulumi-deploy-dev$/m,
    );
    assert.match(
      calls,
      /^preview --non-interactive --stack dev --json\t.*web_identity=arn:aws:iam::111122223333:role\/pulumi-preview$/m,
    );
  });

  it("promote opens ONE merge request from a branch at exactly the deployed commit, then edits it", () => {
    assert.equal(j.runs.promote1.code, 0, j.runs.promote1.stdout);
    const branch = "gitlab-eks/promote/main-to-staging";
    assert.match(
      j.runs.promote1.stdout,
      new RegExp(
        `promotion merge request !\\d+ created: main@${j.promotedSha1.slice(0, 8)} -> staging \\(branch ${branch}, moved to this commit\\)`,
      ),
    );
    assert.deepEqual(j.promoteMutations.promote1, [
      "POST /projects/:id/repository/branches 201",
      "POST /projects/:id/merge_requests 201",
    ]);
    assert.equal(j.runs.promote2.code, 0, j.runs.promote2.stdout);
    assert.match(j.runs.promote2.stdout, /promotion merge request !\d+ updated: .* \(branch [^,]*\)/);
    assert.deepEqual(j.promoteMutations.promote2, [
      "PUT /projects/:id/merge_requests/:merge_request_iid 200",
    ]);
  });

  it("a newer deployed commit moves the promotion branch and reopens the same merge request", () => {
    assert.equal(j.runs.promote3.code, 0, j.runs.promote3.stdout + j.runs.promote3.stderr);
    assert.match(
      j.runs.promote3.stdout,
      new RegExp(`!${j.promotionIid} reopened: main@${j.promotedSha2.slice(0, 8)} -> staging`),
    );
    assert.deepEqual(j.promoteMutations.promote3, [
      "DELETE /projects/:id/repository/branches/:branch 204",
      "POST /projects/:id/repository/branches 201",
      "PUT /projects/:id/merge_requests/:merge_request_iid 200",
    ]);
    assert.equal(j.runs.promote4.code, 0, j.runs.promote4.stdout);
    assert.match(j.runs.promote4.stdout, new RegExp(`!${j.promotionIid} unchanged`));
    assert.deepEqual(j.promoteMutations.promote4, []);
    const toStaging = j.fake.state.mergeRequests.filter((m) => m.targetBranch === "staging");
    assert.equal(toStaging.length, 1, "one promotion merge request, reopened rather than opened again");
    const [promotion] = toStaging;
    assert.equal(promotion.sourceBranch, "gitlab-eks/promote/main-to-staging");
    assert.equal(promotion.sha, j.promotedSha2, "the merge request carries exactly the deployed commit");
    assert.equal(promotion.title, "Promote main to staging (stack staging)");
    assert.match(
      promotion.description ?? "",
      new RegExp(`^Promotes commit \`${j.promotedSha2.slice(0, 8)}\``, "m"),
    );
    assert.match(promotion.description ?? "", /#### Preview of stack `staging`: 3 to create/);
  });

  it("a failed preview of the target stack fails the promote job with pulumi's errors and changes nothing", () => {
    const r = j.runs.promoteFailedPreview;
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /The promotion merge request was not opened or changed/);
    assert.deepEqual(j.promoteMutations.promoteFailedPreview, []);
  });

  it("an older pipeline's promote job running after a newer deployment promotes nothing", () => {
    assert.equal(j.runs.promoteLate.code, 0, j.runs.promoteLate.stdout + j.runs.promoteLate.stderr);
    assert.match(
      j.runs.promoteLate.stdout,
      new RegExp(
        `nothing promoted: environment dev now runs commit ${j.promotedSha2.slice(0, 8)} \\(its last successful deployment\\), not this pipeline's ${j.promotedSha1.slice(0, 8)}`,
      ),
    );
    assert.deepEqual(j.promoteMutations.promoteLate, []);
  });

  it("once the promotion is merged, a re-run of the promote job opens nothing", () => {
    assert.equal(j.runs.promote5.code, 0, j.runs.promote5.stdout + j.runs.promote5.stderr);
    assert.match(
      j.runs.promote5.stdout,
      new RegExp(`nothing to promote: staging already contains ${j.promotedSha2.slice(0, 8)}`),
    );
    assert.deepEqual(j.promoteMutations.promote5, []);
    assert.equal(
      j.fake.state.mergeRequests.filter((m) => m.state === "opened" && m.targetBranch === "staging").length,
      0,
    );
  });

  it("drift fails the scheduled job and keeps ONE open issue for the stack", () => {
    assert.notEqual(j.runs.drift1.code, 0);
    assert.match(j.runs.drift1.stdout + j.runs.drift1.stderr, /drift issue #\d+ created/);
    assert.notEqual(j.runs.drift2.code, 0);
    assert.match(j.runs.drift2.stdout + j.runs.drift2.stderr, /drift issue #\d+ (updated|unchanged)/);
    const issues = j.openIssuesAfterDrift;
    assert.equal(issues.length, 1);
    assert.equal(issues[0].title, "Drift detected in Pulumi stack dev");
    assert.deepEqual(issues[0].labels, ["pulumi-drift"]);
  });

  it("once the drift is gone, the next run closes the issue with ONE comment; a re-run changes nothing", () => {
    assert.equal(j.runs.drift3.code, 0, j.runs.drift3.stdout + j.runs.drift3.stderr);
    assert.match(j.runs.drift3.stdout, /stack dev: no drift \(3 resources unchanged\)/);
    assert.match(j.runs.drift3.stdout, /drift issue #\d+ closed: http\S+\/-\/issues\/\d+$/m);
    assert.deepEqual(j.driftIssueRequests, ["PUT 200", "POST 201"], "close first, then comment");
    assert.equal(j.fake.state.issues.length, 1);
    const [issue] = j.fake.state.issues;
    assert.equal(issue.state, "closed");
    assert.ok(issue.closedAt);
    const notes = j.fake.state.notes.filter((n) => n.noteableType === "Issue" && n.noteableIid === issue.iid);
    assert.deepEqual(
      notes.filter((n) => n.system).map((n) => n.body),
      ["closed"],
      "GitLab's own system note",
    );
    const comments = notes.filter((n) => !n.system);
    assert.equal(comments.length, 1);
    assert.match(
      comments[0].body,
      /^The scheduled refresh and preview of stack `dev` found no drift: no changes \(3 unchanged\)\. .*this issue is closed\./,
    );
    assert.match(
      comments[0].body,
      new RegExp(
        `<sub>commit \`${j.driftSha.slice(0, 8)}\` · \\[job log\\]\\(.+\\) · \\[pipeline\\]\\(.+\\) · posted by gitlab-eks</sub>`,
      ),
    );

    assert.equal(j.runs.drift4.code, 0, j.runs.drift4.stdout + j.runs.drift4.stderr);
    assert.match(j.runs.drift4.stdout, /no open drift issue for stack dev: nothing to close/);
    assert.deepEqual(j.driftRerunRequests, []);
  });

  it("no token (GitLab token, job token, OIDC ID token) appears in any job log or output", () => {
    const everything = [
      ...Object.values(j.runs).flatMap((r) => [r.stdout, r.stderr]),
      ...Object.values(j.repos).map((r) => jobLogs(r!)),
    ].join("\n");
    assert.ok(everything.length > 1000, "the logs were captured");
    for (const secret of [j.token, j.jobToken, ID_TOKEN])
      assert.ok(!everything.includes(secret), "a token leaked into a job log");
    const notes =
      j.fake.state.notes.map((n) => n.body).join("\n") +
      j.fake.state.mergeRequests.map((m) => m.description).join("\n");
    for (const secret of [j.token, j.jobToken, ID_TOKEN]) assert.ok(!notes.includes(secret));
  });
});
