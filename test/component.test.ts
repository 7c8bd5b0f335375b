/**
 * The CI/CD component as a consumer project uses it: the fixture includes `pipeline` three times (dev,
 * staging, production), gitlab-ci-local evaluates the pipelines GitLab would create and runs the jobs with
 * the shell executor, a stand-in `pulumi` (test/fixtures/bin/pulumi, replaying Pulumi's JSON) and the fake
 * GitLab API. gitlab-ci-local is slow (about 1.5 s a run on an idle machine, many times that on a busy
 * one), so each scenario runs once in a `before` and its assertions share the result; independent jobs
 * run at the same time, and each suite's timeout is sized from the runs it makes (gclTimeout), never a
 * fixed figure a loaded machine can miss.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { parse } from "yaml";
import { AccessLevel, startFakeGitlab, type FakeGitlab, type FakeIssue } from "./support/fake-gitlab";
import { consumerWorld } from "./support/gitlab-world";
import {
  commitAgain,
  consumerRepo,
  expandedConfig,
  gcl,
  gclTimeout,
  jobLogs,
  projectFile,
  type ConsumerRepo,
  type RunResult,
} from "./support/gcl";

interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs?: { job: string }[];
}

const ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.fake-oidc-payload-for-tests.c2lnbmF0dXJl";
const BACKEND = "s3://pulumi-state-fixture/infra-live";
const SOURCE_SHA = "1111111111111111111111111111111111111111";
const TARGET_SHA = "2222222222222222222222222222222222222222";

async function listJobs(repo: ConsumerRepo, variables: Record<string, string>): Promise<ListedJob[]> {
  const r = await gcl(repo, ["--list-json"], variables);
  assert.equal(r.code, 0, r.stderr);
  const jobs = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as ListedJob[];
  return jobs.filter((j) => j.when !== "never");
}

const brief = (jobs: ListedJob[]) =>
  jobs.map(
    (j) =>
      `${j.name} ${j.stage} ${j.when}${j.needs?.length ? ` needs=${j.needs.map((n) => n.job).join(",")}` : ""}`,
  );

const mr = (target: string) => ({
  CI_PIPELINE_SOURCE: "merge_request_event",
  CI_MERGE_REQUEST_TARGET_BRANCH_NAME: target,
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature",
  CI_COMMIT_BRANCH: "",
});
const push = (branch: string) => ({
  CI_PIPELINE_SOURCE: "push",
  CI_COMMIT_BRANCH: branch,
  CI_COMMIT_REF_NAME: branch,
});

describe("CI/CD component: pipelines a consumer gets (gitlab-ci-local --list-json)", function () {
  this.timeout(gclTimeout(11));
  const lists: Record<string, ListedJob[]> = {};
  let expanded: Record<string, Record<string, unknown>>;

  before(async () => {
    const pipelines: [string, Record<string, string>][] = [
      ...["main", "staging", "production"].map((b): [string, Record<string, string>] => [`mr:${b}`, mr(b)]),
      ...["main", "staging", "production"].map((b): [string, Record<string, string>] => [
        `push:${b}`,
        push(b),
      ]),
      ["schedule", { CI_PIPELINE_SOURCE: "schedule", CI_COMMIT_BRANCH: "main" }],
      // A merged-results pipeline: still a merge_request_event, on the merge commit of source and target.
      ...["main", "production"].map((b): [string, Record<string, string>] => [
        `merged:${b}`,
        {
          ...mr(b),
          CI_MERGE_REQUEST_EVENT_TYPE: "merged_result",
          CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: SOURCE_SHA,
        },
      ]),
    ];
    // Listings are independent: three at a time, each in its own copy of the repository (gitlab-ci-local
    // writes its state into the folder it runs in).
    const repos = [0, 1, 2].map(() => consumerRepo("consumer"));
    await Promise.all(
      repos.map(async (repo, r) => {
        for (const [key, vars] of pipelines.filter((_, i) => i % repos.length === r))
          lists[key] = await listJobs(repo, vars);
      }),
    );
    expanded = parse(expandedConfig(repos[0]));
  });

  it("a merge request into each deploy branch previews exactly that branch's stack", () => {
    assert.deepEqual(brief(lists["mr:main"]), ["dev:preview test on_success"]);
    assert.deepEqual(brief(lists["mr:staging"]), ["staging:preview test on_success"]);
    assert.deepEqual(brief(lists["mr:production"]), ["production:preview test on_success"]);
  });

  it("a merged-results pipeline previews exactly like a merge request pipeline, and deploys nothing", () => {
    assert.deepEqual(brief(lists["merged:main"]), brief(lists["mr:main"]));
    assert.deepEqual(brief(lists["merged:production"]), brief(lists["mr:production"]));
  });

  it("a push to each deploy branch runs up, then promotes to the next branch; production is manual and last", () => {
    assert.deepEqual(brief(lists["push:main"]), [
      "dev:up deploy on_success",
      "dev:promote deploy on_success needs=dev:up",
    ]);
    assert.deepEqual(brief(lists["push:staging"]), [
      "staging:up deploy on_success",
      "staging:promote deploy on_success needs=staging:up",
    ]);
    assert.deepEqual(brief(lists["push:production"]), ["production:up deploy manual"]);
    const up = lists["push:production"][0];
    assert.equal(up.allow_failure, false, "a manual production up blocks the pipeline until someone runs it");
  });

  it("a schedule runs drift detection for every stack and nothing else", () => {
    assert.deepEqual(brief(lists.schedule), [
      "dev:drift test on_success",
      "staging:drift test on_success",
      "production:drift test on_success",
    ]);
  });

  it("up and destroy are one environment per stack, serialised by one resource group per stack", () => {
    for (const [stack, tier] of [
      ["dev", "development"],
      ["staging", "staging"],
      ["production", "production"],
    ]) {
      const up = expanded[`${stack}:up`];
      assert.deepEqual(up.environment, {
        name: stack,
        deployment_tier: tier,
        action: "start",
        url: "$ENVIRONMENT_URL",
        on_stop: `${stack}:destroy`,
      });
      assert.equal(up.resource_group, `pulumi/${stack}`);
      const destroy = expanded[`${stack}:destroy`];
      assert.deepEqual(destroy.environment, { name: stack, action: "stop" });
      assert.equal(destroy.resource_group, `pulumi/${stack}`);
      assert.deepEqual((up.artifacts as { reports: unknown }).reports, { dotenv: "pulumi.env" });
      const preview = expanded[`${stack}:preview`];
      assert.deepEqual((preview.artifacts as { reports: unknown }).reports, {
        terraform: "pulumi-report.json",
      });
      assert.equal((preview.artifacts as { name: string }).name, stack, "one widget entry per stack");
    }
  });

  it("preview and drift use the read-only role, up and destroy the deploy role, each through an OIDC ID token", () => {
    const vars = (job: string) => expanded[job].variables as Record<string, string>;
    for (const job of ["dev:preview", "dev:drift", "dev:promote"])
      assert.equal(vars(job).GITLAB_EKS_AWS_ROLE_ARN, "arn:aws:iam::111122223333:role/pulumi-preview", job);
    for (const job of ["dev:up", "dev:destroy"])
      assert.equal(
        vars(job).GITLAB_EKS_AWS_ROLE_ARN,
        "arn:aws:iam::111122223333:role/pulumi-deploy-dev",
        job,
      );
    assert.deepEqual(expanded["dev:up"].id_tokens, { GITLAB_EKS_ID_TOKEN: { aud: "sts.amazonaws.com" } });
  });

  it("caches npm and Pulumi plugins keyed on the Pulumi project's lockfile", () => {
    const [cache] = expanded["dev:preview"].cache as Record<string, unknown>[];
    assert.deepEqual(cache.key, { prefix: "gitlab-eks", files: ["./package-lock.json"] });
    assert.deepEqual(cache.paths, [".npm/", ".pulumi-home/plugins/"]);
  });
});

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

describe("CI/CD component: preview options (expect_no_changes, refresh, policy_packs)", function () {
  this.timeout(gclTimeout(1));
  let fake: FakeGitlab;
  let repo: ConsumerRepo;
  let result: RunResult;

  before(async () => {
    const world = await consumerWorld();
    fake = world.fake;
    const { token, mrIid: iid, projectId } = world;
    const text = fs
      .readFileSync(`${__dirname}/../../test/fixtures/consumer/.gitlab-ci.yml`, "utf8")
      .replace(
        '      job_prefix: "dev:"\n',
        '      job_prefix: "dev:"\n      expect_no_changes: true\n      refresh: true\n      policy_packs: policies/tags policies/cost\n',
      );
    repo = consumerRepo("consumer", { gitlabCi: text });
    result = await gcl(repo, ["--force-shell-executor", "dev:preview"], {
      ...mr("main"),
      CI_MERGE_REQUEST_IID: String(iid),
      CI_SERVER_URL: fake.url,
      CI_PROJECT_ID: String(projectId),
      GITLAB_EKS_TOKEN: token,
      PULUMI_BACKEND_URL: BACKEND,
      GITLAB_EKS_ID_TOKEN: ID_TOKEN,
    });
  });

  after(async () => {
    await fake?.close();
  });

  it("passes the flags to pulumi preview", () => {
    assert.match(
      fs.readFileSync(repo.pulumiLog, "utf8"),
      /^preview --non-interactive --stack dev --json --expect-no-changes --refresh --policy-pack policies\/tags --policy-pack policies\/cost\t/m,
    );
  });

  it("with changes and expect_no_changes, the job fails but the note and widget report are still written", () => {
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /MR note created on !1/);
    assert.deepEqual(JSON.parse(projectFile(repo, "pulumi-report.json")), {
      create: 3,
      update: 0,
      delete: 0,
    });
    assert.equal(fake.state.notes.length, 1);
    // expect_no_changes explains pulumi's failure: the plan is not flagged as an unexplained one.
    assert.ok(!(result.stdout + result.stderr).includes("exited with status"));
    assert.ok(!fake.state.notes[0].body.includes("**Warning:**"));
  });
});

describe("CI/CD component: a failed preview (stand-in pulumi exits 1 for a program error, 6 for a missing stack)", function () {
  this.timeout(gclTimeout(3));
  let fake: FakeGitlab;
  let repo: ConsumerRepo;
  let iid: number;
  const runs: Record<string, RunResult> = {};
  const notes: string[] = [];
  const reports: Record<string, unknown> = {};

  before(async () => {
    const world = await consumerWorld();
    fake = world.fake;
    iid = world.mrIid;
    const { token, projectId } = world;
    repo = consumerRepo("consumer");
    const vars = {
      ...mr("main"),
      CI_MERGE_REQUEST_IID: String(iid),
      CI_SERVER_URL: fake.url,
      CI_API_V4_URL: `${fake.url}/api/v4`,
      CI_PROJECT_ID: String(projectId),
      GITLAB_EKS_TOKEN: token,
      PULUMI_BACKEND_URL: BACKEND,
      GITLAB_EKS_ID_TOKEN: ID_TOKEN,
    };
    for (const [name, env] of [
      ["plan", {}],
      ["programError", { PULUMI_STANDIN_PREVIEW: "preview-program-error.json", PULUMI_STANDIN_EXIT: "1" }],
      ["empty", { PULUMI_STANDIN_PREVIEW: "preview-no-stack.json", PULUMI_STANDIN_EXIT: "6" }],
    ] as const) {
      runs[name] = await gcl(repo, ["--force-shell-executor", "dev:preview"], vars, env);
      notes.push(fake.state.notes.find((n) => n.noteableIid === iid && !n.system)?.body ?? "");
      reports[name] = JSON.parse(projectFile(repo, "pulumi-report.json"));
    }
  });

  after(async () => {
    await fake?.close();
  });

  it("the job fails, and its log shows pulumi's error plainly, not a stack trace", () => {
    assert.equal(runs.plan.code, 0, runs.plan.stdout);
    for (const name of ["programError", "empty"]) assert.notEqual(runs[name].code, 0, name);
    const error = runs.programError.stdout + runs.programError.stderr;
    assert.match(error, /stack dev: preview failed; pulumi reported:/);
    assert.match(
      error,
      /error: pulumi-nodejs:dynamic\/real-consumer:Gate resource 'gate': property fail value \{true\} has a problem: the gate is closed/,
    );
    assert.match(error, /stack dev: pulumi preview failed with 1 error \(above\)\. Fix: /);
    assert.ok(!error.includes("\u001b[31m"), "the program's colours are stripped");
    const empty = runs.empty.stdout + runs.empty.stderr;
    assert.match(empty, /error: preview failed \(stand-in pulumi, PULUMI_STANDIN_EXIT=6\)/);
    assert.match(empty, /stack dev: preview failed before planning: pulumi printed no preview\./);
    assert.match(
      empty,
      /--json: pulumi-preview\.json: expected the output of `pulumi preview --json`, but it is empty\./,
    );
    for (const log of [error, empty]) assert.ok(!/^\s+at .*\.js:\d+/m.test(log), "no stack trace");
  });

  it("the one MR note is edited in place to say the preview failed, and the widget shows no counts", () => {
    assert.deepEqual(
      fake.mutatingRequests({ pathPattern: /\/notes/ }).map((r) => `${r.method} ${r.status}`),
      ["POST 201", "PUT 200", "PUT 200"],
    );
    assert.equal(fake.state.notes.filter((n) => n.noteableIid === iid && !n.system).length, 1);
    assert.match(notes[0], /^#### Pulumi preview for stack `dev`: 3 to create/m);
    assert.match(notes[1], /^#### Pulumi preview for stack `dev` failed: 1 error$/m);
    assert.match(notes[2], /^#### Pulumi preview for stack `dev` failed before planning$/m);
    assert.deepEqual(reports.plan, { create: 3, update: 0, delete: 0 });
    for (const name of ["programError", "empty"]) assert.ok(!("create" in (reports[name] as object)), name);
  });
});
