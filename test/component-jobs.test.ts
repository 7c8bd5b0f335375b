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
import { AccessLevel, startFakeGitlab, type FakeGitlab, type FakeIssue } from "./support/fake-gitlab";
import {
  commitAgain,
  consumerRepo,
  gcl,
  gclTimeout,
  jobLogs,
  projectFile,
  type ConsumerRepo,
  type RunResult,
} from "./support/gcl";
import { BACKEND, ID_TOKEN, mr, push, SOURCE_SHA, TARGET_SHA } from "./support/component";

describe("CI/CD component: jobs run (gitlab-ci-local --force-shell-executor, stand-in pulumi, fake GitLab)", function () {
  this.timeout(gclTimeout(17));
  let fake: FakeGitlab;
  let projectId: number;
  let token: string;
  let jobToken: string;
  let mrIid: number;
  const runs: Record<string, RunResult> = {};
  const noteRequests: string[] = [];
  const mergedNoteRequests: string[] = [];
  let firstNote = "";
  /** One consumer repository per chain of jobs (see the before hook). */
  const repos: Record<"previews" | "promote" | "drift", ConsumerRepo | undefined> = {
    previews: undefined,
    promote: undefined,
    drift: undefined,
  };
  /** Merge request notes only: the drift issue's comment is a note too, posted at the same time. */
  const MR_NOTES = /\/merge_requests\/\d+\/notes/;
  /** The commit the drift jobs ran on. */
  let driftSha = "";
  /** Mutating requests of each promote run, as "METHOD route status". */
  const promoteMutations: Record<string, string[]> = {};
  /** The fixture's first commit: previews and up run on it; promote adds one (commitAgain) before drift. */
  let firstSha = "";
  let promotedSha1 = "";
  let promotedSha2 = "";
  let promotionIid = 0;
  let secondNote = "";
  let mergedNote = "";
  let openIssuesAfterDrift: FakeIssue[] = [];
  let driftIssueRequests: string[] = [];
  let driftRerunRequests: string[] = [];

  const base = (): Record<string, string> => ({
    CI_SERVER_URL: fake.url,
    CI_API_V4_URL: `${fake.url}/api/v4`,
    CI_PROJECT_ID: String(projectId),
    CI_JOB_TOKEN: jobToken,
    GITLAB_EKS_ID_TOKEN: ID_TOKEN,
    PULUMI_BACKEND_URL: BACKEND,
  });
  const runIn = (
    repo: ConsumerRepo,
    job: string,
    vars: Record<string, string>,
    env: Record<string, string> = {},
  ) => gcl(repo, ["--force-shell-executor", job], { ...base(), ...vars }, env);
  /** The comments on the merge request (the drift issue's notes have an iid too). */
  const mrNotes = () =>
    fake.state.notes.filter((n) => n.noteableType === "MergeRequest" && n.noteableIid === mrIid && !n.system);
  const mutations = (pattern: RegExp) =>
    fake.mutatingRequests({ pathPattern: pattern }).map((r) => `${r.method} ${r.status}`);

  before(async () => {
    fake = await startFakeGitlab();
    const bot = fake.addUser({ username: "infra-bot", bot: true });
    const dev = fake.addUser({ username: "dev" });
    const project = fake.addProject({
      path: "infra-live",
      ownerUserId: bot.id,
      members: { [bot.id]: AccessLevel.MAINTAINER, [dev.id]: AccessLevel.DEVELOPER },
    });
    projectId = project.id;
    for (const b of ["staging", "production"]) fake.addBranch(project.id, b, { protected: true });
    token = fake.addToken({ userId: bot.id, scopes: ["api"], name: "gitlab-eks" }).token;
    jobToken = fake.addJobToken({ userId: dev.id, projectId: project.id }).token;
    mrIid = fake.addMergeRequest({
      projectId: project.id,
      sourceBranch: "feature",
      targetBranch: "main",
      title: "Upgrade the cluster",
      authorId: dev.id,
    }).iid;
    // Three independent chains of jobs, each in its own copy of the consumer repository (the shell
    // executor runs jobs in place, so two jobs in one folder would share their output files), run at
    // the same time against the one fake GitLab: MR previews (notes), up then promotion (branches,
    // merge requests), drift (issues). Within a chain the jobs run in order, as each depends on the
    // state the one before left.
    await Promise.all([previews(), deployAndPromote(), drift()]);
  });

  /** Previews on the merge request: ONE note, created, then edited. */
  async function previews(): Promise<void> {
    const repo = (repos.previews = consumerRepo("consumer"));
    firstSha = repo.sha;
    const run = (vars: Record<string, string>, env: Record<string, string> = {}) =>
      runIn(repo, "dev:preview", vars, env);
    const inMr = { ...mr("main"), CI_MERGE_REQUEST_IID: String(mrIid), GITLAB_EKS_TOKEN: token };
    runs.preview1 = await run({ ...inMr, CI_JOB_ID: "101" });
    firstNote = mrNotes()[0]?.body ?? "";
    runs.report = { code: 0, stdout: projectFile(repo, "pulumi-report.json"), stderr: "" };
    runs.preview2 = await run(
      { ...inMr, CI_JOB_ID: "102" },
      { PULUMI_STANDIN_PREVIEW: "preview-no-changes.json" },
    );
    noteRequests.push(...mutations(MR_NOTES));
    secondNote = mrNotes()[0]?.body ?? "";
    runs.previewNoToken = await run({ ...mr("main"), CI_MERGE_REQUEST_IID: String(mrIid), CI_JOB_ID: "103" });
    // A merged-results pipeline of the same merge request: CI_COMMIT_SHA is GitLab's temporary merge
    // commit (here the fixture's HEAD, which the component include needs), the merged heads are named.
    runs.previewMerged = await run({
      ...inMr,
      CI_MERGE_REQUEST_EVENT_TYPE: "merged_result",
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: SOURCE_SHA,
      CI_MERGE_REQUEST_TARGET_BRANCH_SHA: TARGET_SHA,
      CI_JOB_ID: "104",
    });
    mergedNoteRequests.push(...mutations(MR_NOTES).slice(noteRequests.length));
    mergedNote = mrNotes()[0]?.body ?? "";
    runs.mergedReport = { code: 0, stdout: projectFile(repo, "pulumi-report.json"), stderr: "" };
  }

  /** up on main, then the promotion merge request through newer deployments, a failure, and its merge. */
  async function deployAndPromote(): Promise<void> {
    const repo = (repos.promote = consumerRepo("consumer"));
    runs.up = await runIn(repo, "dev:up", {
      ...push("main"),
      CI_COMMIT_REF_PROTECTED: "true",
      CI_JOB_ID: "201",
    });
    runs.dotenv = { code: 0, stdout: projectFile(repo, "pulumi.env"), stderr: "" };
    // GitLab knows the commit the pipeline runs on (it was pushed to main).
    promotedSha1 = repo.sha;
    fake.pushCommit(projectId, "main", promotedSha1);
    // What GitLab records for the up job (environment dev); gitlab-ci-local does not tell GitLab.
    const deployed = (sha: string) => fake.addDeployment({ projectId, environment: "dev", sha, ref: "main" });
    deployed(promotedSha1);
    const promote = async (name: string, vars: Record<string, string>, env: Record<string, string> = {}) => {
      const from = fake.requests.length;
      runs[name] = await runIn(
        repo,
        "dev:promote",
        { ...push("main"), GITLAB_EKS_TOKEN: token, ...vars },
        env,
      );
      // Only what promotion changes (branches, merge requests): the other chains' notes and issues run
      // at the same time.
      promoteMutations[name] = fake.requests
        .slice(from)
        .filter((r) => r.method !== "GET" && !/\/(notes|issues)\b/.test(r.route ?? ""))
        .map((r) => `${r.route} ${r.status}`);
    };
    await promote("promote1", { CI_JOB_ID: "202" });
    await promote("promote2", { CI_JOB_ID: "203" }, { PULUMI_STANDIN_PREVIEW: "preview-no-changes.json" });
    // A newer commit is pushed to main and deployed: the promotion moves to it.
    promotedSha2 = commitAgain(repo);
    fake.pushCommit(projectId, "main", promotedSha2);
    deployed(promotedSha2);
    const pipeline = {
      CI_PIPELINE_ID: "77",
      CI_PIPELINE_URL: `${fake.url}/infra-bot/infra-live/-/pipelines/77`,
    };
    await promote("promote3", { ...pipeline, CI_JOB_ID: "204", CI_JOB_URL: `${fake.url}/j/204` });
    // The job retried in the same pipeline: nothing to change.
    await promote("promote4", { ...pipeline, CI_JOB_ID: "205", CI_JOB_URL: `${fake.url}/j/205` });
    // The target stack's preview fails: the job fails, saying why, and changes nothing.
    await promote(
      "promoteFailedPreview",
      { ...pipeline, CI_JOB_ID: "206", CI_JOB_URL: `${fake.url}/j/206` },
      { PULUMI_STANDIN_PREVIEW: "preview-program-error.json", PULUMI_STANDIN_EXIT: "1" },
    );
    // The first pipeline's promote job, retried after the newer commit was deployed: promotes nothing.
    await promote("promoteLate", { CI_JOB_ID: "207", CI_COMMIT_SHA: promotedSha1 });
    promotionIid = fake.state.mergeRequests.find((m) => m.targetBranch === "staging")?.iid ?? 0;
    fake.mergeMergeRequest(projectId, promotionIid);
    // The promote job retried after its merge request was merged: nothing left to promote.
    await promote("promote5", { CI_JOB_ID: "206" });
  }

  /** Scheduled drift: ONE issue opened, updated, closed once the drift is gone. */
  async function drift(): Promise<void> {
    const repo = (repos.drift = consumerRepo("consumer"));
    driftSha = repo.sha;
    const run = (jobId: string, env: Record<string, string> = {}) =>
      runIn(
        repo,
        "dev:drift",
        { CI_PIPELINE_SOURCE: "schedule", GITLAB_EKS_TOKEN: token, CI_JOB_ID: jobId },
        env,
      );
    runs.drift1 = await run("301", { PULUMI_STANDIN_PREVIEW: "preview-drift.json" });
    runs.drift2 = await run("302", { PULUMI_STANDIN_PREVIEW: "preview-drift.json" });
    openIssuesAfterDrift = fake.state.issues.filter((i) => i.state === "opened").map((i) => ({ ...i }));
    const issuePaths = /\/issues/;
    const before = mutations(issuePaths).length;
    // The drift is gone (someone ran up, or changed the code): the next run closes the issue, and the
    // one after it finds no open issue and changes nothing.
    runs.drift3 = await run("303", { PULUMI_STANDIN_PREVIEW: "preview-no-changes.json" });
    driftIssueRequests = mutations(issuePaths).slice(before);
    runs.drift4 = await run("304", { PULUMI_STANDIN_PREVIEW: "preview-no-changes.json" });
    driftRerunRequests = mutations(issuePaths).slice(before + driftIssueRequests.length);
  }

  after(async () => {
    await fake?.close();
  });

  it("the preview posts ONE note on the merge request and edits it on the next run", () => {
    assert.equal(runs.preview1.code, 0, runs.preview1.stdout);
    assert.match(runs.preview1.stdout, /MR note created on !1/);
    assert.equal(runs.preview2.code, 0, runs.preview2.stdout);
    assert.match(runs.preview2.stdout, /MR note updated on !1/);
    assert.deepEqual(noteRequests, ["POST 201", "PUT 200"]);
    const notes = mrNotes();
    assert.equal(notes.length, 1);
    assert.match(
      secondNote,
      /^<!-- gitlab-eks:preview project=infra-live stack=dev dir=\. -->\n#### Pulumi preview for stack `dev`: no changes/,
    );
    assert.match(secondNote, new RegExp(`<sub>commit \`${firstSha.slice(0, 8)}\` · \\[job log\\]`));
  });

  it("a merged-results pipeline edits the same note, names the merged heads, and writes the widget report", () => {
    assert.equal(runs.previewMerged.code, 0, runs.previewMerged.stdout + runs.previewMerged.stderr);
    assert.match(runs.previewMerged.stdout, /MR note updated on !1/);
    assert.deepEqual(mergedNoteRequests, ["PUT 200"], "the one note is edited, never a second one posted");
    const notes = mrNotes();
    assert.equal(notes.length, 1);
    assert.equal(notes[0].body, mergedNote);
    assert.match(mergedNote, /^#### Pulumi preview for stack `dev`: 3 to create, 0 to update/m);
    assert.match(
      mergedNote,
      /<sub>merged result of `11111111` into `main` at `22222222` · \[job log\]\(.*\) · \[pipeline\]\(.*\) · posted by gitlab-eks<\/sub>/,
    );
    assert.ok(!mergedNote.includes(firstSha.slice(0, 8)), "not the temporary merge commit");
    assert.deepEqual(JSON.parse(runs.mergedReport.stdout), { create: 3, update: 0, delete: 0 });
  });

  it("the note puts the summary first and the per-resource diff in a collapsed block", () => {
    // The real CLI's first preview of the fixture consumer program (test/fixtures/pulumi-captured); how
    // updates, replacements, deletions and secrets are shown is tested in test/ci-helper.test.ts.
    const lines = firstNote.split("\n");
    assert.equal(lines[0], "<!-- gitlab-eks:preview project=infra-live stack=dev dir=. -->");
    assert.equal(
      lines[1],
      "#### Pulumi preview for stack `dev`: 3 to create, 0 to update, 0 to replace, 0 to delete (0 unchanged)",
    );
    assert.ok(firstNote.indexOf("| 3 | 0 | 0 | 0 | 0 |") < firstNote.indexOf("<details>"));
    assert.match(firstNote, /<details><summary>Per-resource diff \(2 resources\)<\/summary>\n\n```diff\n/);
    assert.match(
      firstNote,
      /^\+ pulumi-nodejs:dynamic\/real-consumer:Record record \(create\)\n\+ {5}content: "hello"$/m,
    );
    assert.match(
      firstNote,
      /^\+ pulumi-nodejs:dynamic\/real-consumer:Gate gate \(create\)\n\+ {5}fail: false$/m,
    );
    assert.ok(!firstNote.includes("__provider"), "the dynamic provider's serialized code is not shown");
  });

  it("writes the merge request widget report with Pulumi's counts (a replacement counts as create and delete)", () => {
    assert.deepEqual(JSON.parse(runs.report.stdout), { create: 3, update: 0, delete: 0 });
  });

  it("without a token the preview still succeeds and says why no note was posted", () => {
    assert.equal(runs.previewNoToken.code, 0);
    const log = runs.previewNoToken.stdout + runs.previewNoToken.stderr;
    assert.match(log, /stack dev: 3 to create/);
    assert.match(log, /no MR note posted \(the preview itself succeeded\)/);
    assert.match(log, /GITLAB_EKS_TOKEN environment variable/);
    assert.match(log, /Only CI_JOB_TOKEN is available/);
  });

  it("up deploys with the deploy role and exports only non-secret outputs, and the environment URL", () => {
    assert.equal(runs.up.code, 0, runs.up.stdout);
    assert.equal(
      runs.dotenv.stdout,
      [
        "PULUMI_OUTPUT_GREETING=hello (5 characters)",
        "PULUMI_OUTPUT_URL=https://real-consumer.example/dev/5",
        "ENVIRONMENT_URL=https://real-consumer.example/dev/5",
        "",
      ].join("\n"),
    );
    const calls = Object.values(repos)
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
    assert.equal(runs.promote1.code, 0, runs.promote1.stdout);
    const branch = "gitlab-eks/promote/main-to-staging";
    assert.match(
      runs.promote1.stdout,
      new RegExp(
        `promotion merge request !\\d+ created: main@${promotedSha1.slice(0, 8)} -> staging \\(branch ${branch}, moved to this commit\\)`,
      ),
    );
    assert.deepEqual(promoteMutations.promote1, [
      "POST /projects/:id/repository/branches 201",
      "POST /projects/:id/merge_requests 201",
    ]);
    assert.equal(runs.promote2.code, 0, runs.promote2.stdout);
    assert.match(runs.promote2.stdout, /promotion merge request !\d+ updated: .* \(branch [^,]*\)/);
    assert.deepEqual(promoteMutations.promote2, ["PUT /projects/:id/merge_requests/:merge_request_iid 200"]);
  });

  it("a newer deployed commit moves the promotion branch and reopens the same merge request", () => {
    assert.equal(runs.promote3.code, 0, runs.promote3.stdout + runs.promote3.stderr);
    assert.match(
      runs.promote3.stdout,
      new RegExp(`!${promotionIid} reopened: main@${promotedSha2.slice(0, 8)} -> staging`),
    );
    assert.deepEqual(promoteMutations.promote3, [
      "DELETE /projects/:id/repository/branches/:branch 204",
      "POST /projects/:id/repository/branches 201",
      "PUT /projects/:id/merge_requests/:merge_request_iid 200",
    ]);
    assert.equal(runs.promote4.code, 0, runs.promote4.stdout);
    assert.match(runs.promote4.stdout, new RegExp(`!${promotionIid} unchanged`));
    assert.deepEqual(promoteMutations.promote4, []);
    const toStaging = fake.state.mergeRequests.filter((m) => m.targetBranch === "staging");
    assert.equal(toStaging.length, 1, "one promotion merge request, reopened rather than opened again");
    const [promotion] = toStaging;
    assert.equal(promotion.sourceBranch, "gitlab-eks/promote/main-to-staging");
    assert.equal(promotion.sha, promotedSha2, "the merge request carries exactly the deployed commit");
    assert.equal(promotion.title, "Promote main to staging (stack staging)");
    assert.match(
      promotion.description ?? "",
      new RegExp(`^Promotes commit \`${promotedSha2.slice(0, 8)}\``, "m"),
    );
    assert.match(promotion.description ?? "", /#### Preview of stack `staging`: 3 to create/);
  });

  it("a failed preview of the target stack fails the promote job with pulumi's errors and changes nothing", () => {
    const r = runs.promoteFailedPreview;
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /The promotion merge request was not opened or changed/);
    assert.deepEqual(promoteMutations.promoteFailedPreview, []);
  });

  it("an older pipeline's promote job running after a newer deployment promotes nothing", () => {
    assert.equal(runs.promoteLate.code, 0, runs.promoteLate.stdout + runs.promoteLate.stderr);
    assert.match(
      runs.promoteLate.stdout,
      new RegExp(
        `nothing promoted: environment dev now runs commit ${promotedSha2.slice(0, 8)} \\(its last successful deployment\\), not this pipeline's ${promotedSha1.slice(0, 8)}`,
      ),
    );
    assert.deepEqual(promoteMutations.promoteLate, []);
  });

  it("once the promotion is merged, a re-run of the promote job opens nothing", () => {
    assert.equal(runs.promote5.code, 0, runs.promote5.stdout + runs.promote5.stderr);
    assert.match(
      runs.promote5.stdout,
      new RegExp(`nothing to promote: staging already contains ${promotedSha2.slice(0, 8)}`),
    );
    assert.deepEqual(promoteMutations.promote5, []);
    assert.equal(
      fake.state.mergeRequests.filter((m) => m.state === "opened" && m.targetBranch === "staging").length,
      0,
    );
  });

  it("drift fails the scheduled job and keeps ONE open issue for the stack", () => {
    assert.notEqual(runs.drift1.code, 0);
    assert.match(runs.drift1.stdout + runs.drift1.stderr, /drift issue #\d+ created/);
    assert.notEqual(runs.drift2.code, 0);
    assert.match(runs.drift2.stdout + runs.drift2.stderr, /drift issue #\d+ (updated|unchanged)/);
    const issues = openIssuesAfterDrift;
    assert.equal(issues.length, 1);
    assert.equal(issues[0].title, "Drift detected in Pulumi stack dev");
    assert.deepEqual(issues[0].labels, ["pulumi-drift"]);
  });

  it("once the drift is gone, the next run closes the issue with ONE comment; a re-run changes nothing", () => {
    assert.equal(runs.drift3.code, 0, runs.drift3.stdout + runs.drift3.stderr);
    assert.match(runs.drift3.stdout, /stack dev: no drift \(3 resources unchanged\)/);
    assert.match(runs.drift3.stdout, /drift issue #\d+ closed: http\S+\/-\/issues\/\d+$/m);
    assert.deepEqual(driftIssueRequests, ["PUT 200", "POST 201"], "close first, then comment");
    assert.equal(fake.state.issues.length, 1);
    const [issue] = fake.state.issues;
    assert.equal(issue.state, "closed");
    assert.ok(issue.closedAt);
    const notes = fake.state.notes.filter((n) => n.noteableType === "Issue" && n.noteableIid === issue.iid);
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
        `<sub>commit \`${driftSha.slice(0, 8)}\` · \\[job log\\]\\(.+\\) · \\[pipeline\\]\\(.+\\) · posted by gitlab-eks</sub>`,
      ),
    );

    assert.equal(runs.drift4.code, 0, runs.drift4.stdout + runs.drift4.stderr);
    assert.match(runs.drift4.stdout, /no open drift issue for stack dev: nothing to close/);
    assert.deepEqual(driftRerunRequests, []);
  });

  it("no token (GitLab token, job token, OIDC ID token) appears in any job log or output", () => {
    const everything = [
      ...Object.values(runs).flatMap((r) => [r.stdout, r.stderr]),
      ...Object.values(repos).map((r) => jobLogs(r!)),
    ].join("\n");
    assert.ok(everything.length > 1000, "the logs were captured");
    for (const secret of [token, jobToken, ID_TOKEN])
      assert.ok(!everything.includes(secret), "a token leaked into a job log");
    const notes =
      fake.state.notes.map((n) => n.body).join("\n") +
      fake.state.mergeRequests.map((m) => m.description).join("\n");
    for (const secret of [token, jobToken, ID_TOKEN]) assert.ok(!notes.includes(secret));
  });
});
