/**
 * The component's jobs under gitlab-ci-local against one fake GitLab, as test/component-jobs.test.ts
 * asserts them: three independent chains of jobs (MR previews; up then promotion; drift), each in its own
 * copy of the consumer repository, run at the same time. `runComponentJobs` runs them all once and hands
 * back what the tests look at (the runs, the fake's state and the requests each step made).
 */
import { AccessLevel, startFakeGitlab, type FakeGitlab, type FakeIssue } from "./fake-gitlab";
import { commitAgain, consumerRepo, gcl, projectFile, type ConsumerRepo, type RunResult } from "./gcl";
import { BACKEND, ID_TOKEN, mr, push, SOURCE_SHA, TARGET_SHA } from "./component";

/** What the component job tests look at, once every chain has run. */
export interface ComponentJobs {
  fake: FakeGitlab;
  token: string;
  jobToken: string;
  runs: Record<string, RunResult>;
  noteRequests: string[];
  mergedNoteRequests: string[];
  firstNote: string;
  /** One consumer repository per chain of jobs. */
  repos: Record<"previews" | "promote" | "drift", ConsumerRepo | undefined>;
  /** The commit the drift jobs ran on. */
  driftSha: string;
  /** Mutating requests of each promote run, as "METHOD route status". */
  promoteMutations: Record<string, string[]>;
  /** The fixture's first commit: previews and up run on it; promote adds one (commitAgain) before drift. */
  firstSha: string;
  promotedSha1: string;
  promotedSha2: string;
  promotionIid: number;
  secondNote: string;
  mergedNote: string;
  openIssuesAfterDrift: FakeIssue[];
  driftIssueRequests: string[];
  driftRerunRequests: string[];
  /** The comments on the merge request (the drift issue's notes have an iid too). */
  mrNotes: () => FakeGitlab["state"]["notes"];
}

export async function runComponentJobs(): Promise<ComponentJobs> {
  const runs: Record<string, RunResult> = {};
  const noteRequests: string[] = [];
  const mergedNoteRequests: string[] = [];
  let firstNote = "";
  /** One consumer repository per chain of jobs. */
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

  const fake = await startFakeGitlab();
  const bot = fake.addUser({ username: "infra-bot", bot: true });
  const dev = fake.addUser({ username: "dev" });
  const project = fake.addProject({
    path: "infra-live",
    ownerUserId: bot.id,
    members: { [bot.id]: AccessLevel.MAINTAINER, [dev.id]: AccessLevel.DEVELOPER },
  });
  const projectId = project.id;
  for (const b of ["staging", "production"]) fake.addBranch(project.id, b, { protected: true });
  const token = fake.addToken({ userId: bot.id, scopes: ["api"], name: "gitlab-eks" }).token;
  const jobToken = fake.addJobToken({ userId: dev.id, projectId: project.id }).token;
  const mrIid = fake.addMergeRequest({
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
  try {
    await Promise.all([previews(), deployAndPromote(), drift()]);
  } catch (err) {
    await fake.close(); // the caller gets no handle to close it with
    throw err;
  }

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

  return {
    fake,
    token,
    jobToken,
    runs,
    noteRequests,
    mergedNoteRequests,
    firstNote,
    repos,
    driftSha,
    promoteMutations,
    firstSha,
    promotedSha1,
    promotedSha2,
    promotionIid,
    secondNote,
    mergedNote,
    openIssuesAfterDrift,
    driftIssueRequests,
    driftRerunRequests,
    mrNotes,
  };
}
