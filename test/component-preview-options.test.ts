/**
 * The CI/CD component as a consumer project uses it: the fixture includes `pipeline` three times (dev,
 * staging, production), gitlab-ci-local evaluates the pipelines GitLab would create and runs the jobs with
 * the shell executor, a stand-in `pulumi` (test/fixtures/bin/pulumi, replaying Pulumi's JSON) and the fake
 * GitLab API. gitlab-ci-local is slow (about 1.5 s a run on an idle machine, many times that on a busy
 * one), so each scenario runs once in a `before` and its assertions share the result; independent jobs
 * run at the same time, and each suite's timeout is sized from the runs it makes (gclTimeout), never a
 * fixed figure a loaded machine can miss.
 *
 * This file: the preview options (expect_no_changes, refresh, policy_packs) and a failed preview.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { type FakeGitlab } from "./support/fake-gitlab";
import { consumerWorld } from "./support/gitlab-world";
import { consumerRepo, gcl, gclTimeout, projectFile, type ConsumerRepo, type RunResult } from "./support/gcl";
import { BACKEND, ID_TOKEN, mr } from "./support/component";

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
