/**
 * The CI/CD component end to end with the REAL Pulumi CLI (scripts/pulumi-cli: the CLI built from Go modules
 * with its Node.js language host next to it) on PATH instead of the stand-in: the fixture consumer program
 * test/fixtures/real-consumer (dynamic resources only) goes through the component's jobs under
 * gitlab-ci-local (--force-shell-executor) against the fake GitLab: preview in a merge request (note,
 * widget report), up (dotenv outputs), drift (none, then a change made outside the program), promote (the
 * promotion merge request, after a real preview of the next stack) and destroy. The state is a file://
 * backend, the secrets a passphrase: nothing leaves the machine.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { consumerWorld } from "./support/gitlab-world";
import type { FakeGitlab } from "./support/fake-gitlab";
import { consumerRepo, gcl, gclTimeout, projectFile, type ConsumerRepo, type RunResult } from "./support/gcl";
import { expectOk, pinnedPulumiVersion, pulumiCli, repoRoot, type PulumiCli } from "./support/real-pulumi";

const API_KEY = "real-consumer-api-key-0123456789";
const PASSPHRASE = "component-real-engine-passphrase";

const gitlabCi = `stages: [test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/pipeline@$CI_COMMIT_SHA
    inputs:
      job_prefix: "dev:"
      stack: dev
      deploy_branch: main
      environment: dev
      tier: development
      promote_to_branch: staging
      promote_to_stack: staging
`;

describe("CI/CD component end to end with the real Pulumi CLI (gitlab-ci-local, fake GitLab)", function () {
  this.timeout(gclTimeout(8) + 10 * 60_000); // 8 jobs, and possibly the first build of the CLI
  let cli: PulumiCli;
  let fake: FakeGitlab;
  let repo: ConsumerRepo;
  let tmp: string;
  let recordFile: string;
  let mrIid: number;
  let projectId: number;
  let token: string;
  const runs: Record<string, RunResult> = {};
  const files: Record<string, string> = {};
  const log = (r: RunResult) => `${r.stdout}\n${r.stderr}`;

  before(async () => {
    cli = await pulumiCli();
    const world = await consumerWorld();
    ({ fake, mrIid, projectId, token } = world);
    fake.addBranch(projectId, "staging", { protected: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-component-real-"));
    const state = path.join(tmp, "state");
    const records = path.join(tmp, "records");
    fs.mkdirSync(state);
    fs.mkdirSync(records);
    recordFile = path.join(records, "dev", "record.txt");

    repo = consumerRepo("real-consumer", { gitlabCi });
    // The consumer's project: the compiled program as its main, @pulumi/pulumi installed (node_modules).
    fs.copyFileSync(
      path.join(repoRoot, "dist", "test", "fixtures", "real-consumer", "index.js"),
      path.join(repo.dir, "index.js"),
    );
    const project = fs
      .readFileSync(path.join(repo.dir, "Pulumi.yaml"), "utf8")
      .replace(/^main: .*$/m, "main: index.js");
    fs.writeFileSync(path.join(repo.dir, "Pulumi.yaml"), project);
    fs.writeFileSync(
      path.join(repo.dir, "package.json"),
      `${JSON.stringify({ name: "real-consumer", private: true, main: "index.js", dependencies: { "@pulumi/pulumi": pinnedPulumiVersion.slice(1) } }, null, 2)}\n`,
    );
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(repo.dir, "node_modules"));
    fs.appendFileSync(path.join(repo.dir, ".gitignore"), "node_modules\n.pulumi-home/\n");

    const env: Record<string, string> = {
      PATH: [
        cli.dir,
        path.join(repo.dir, ".gitlab-ci-local", "test-bin"),
        path.dirname(process.execPath),
        process.env.PATH ?? "",
      ].join(path.delimiter),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    repo.env = { ...repo.env, ...env };
    // The stacks, as their owner made them: passphrase secrets, a record file each.
    const pulumi = (args: string[]) =>
      new Promise<RunResult>((resolve, reject) => {
        const child = spawn(cli.binary, ["--cwd", repo.dir, ...args], {
          env: {
            ...process.env,
            ...env,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_HOME: path.join(tmp, "home"),
          },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    for (const stack of ["dev", "staging"]) {
      const must = async (args: string[]) => expectRun(await pulumi(args), args.join(" "));
      await must(["stack", "init", stack]);
      fs.mkdirSync(path.join(records, stack));
      await must(["config", "set", "--stack", stack, "recordDir", path.join(records, stack)]);
      await must(["config", "set", "--stack", stack, "--secret", "apiKey", API_KEY]);
    }
    const base = {
      CI_SERVER_URL: fake.url,
      CI_API_V4_URL: `${fake.url}/api/v4`,
      CI_PROJECT_ID: String(projectId),
      PULUMI_BACKEND_URL: `file://${state}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      GITLAB_EKS_TOKEN: token,
    };
    const job = (name: string, vars: Record<string, string>) =>
      gcl(repo, ["--force-shell-executor", name], { ...base, ...vars });
    const push = { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_NAME: "main" };

    const inMr = {
      CI_PIPELINE_SOURCE: "merge_request_event",
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: "feature",
      CI_COMMIT_BRANCH: "",
      CI_MERGE_REQUEST_IID: String(mrIid),
    };
    runs.preview = await job("dev:preview", { ...inMr, CI_JOB_ID: "101" });
    // expect_no_changes on a plan with changes: the real CLI exits 7, and the job with it.
    runs.expectNoChanges = await job("dev:preview", {
      ...inMr,
      CI_JOB_ID: "103",
      GITLAB_EKS_EXPECT_NO_CHANGES: "true",
    });
    files.report = projectFile(repo, "pulumi-report.json");
    files.previewJson = projectFile(repo, "pulumi-preview.json");
    files.note = fake.state.notes.find((n) => n.noteableIid === mrIid && !n.system)?.body ?? "";
    runs.up = await job("dev:up", { ...push, CI_COMMIT_REF_PROTECTED: "true", CI_JOB_ID: "201" });
    files.dotenv = projectFile(repo, "pulumi.env");
    files.recordAfterUp = fs.existsSync(recordFile) ? fs.readFileSync(recordFile, "utf8") : "(missing)";
    runs.noDrift = await job("dev:drift", { CI_PIPELINE_SOURCE: "schedule", CI_JOB_ID: "301" });
    // A change made outside the program: the scheduled drift job finds it.
    fs.writeFileSync(recordFile, "edited by hand");
    runs.drift = await job("dev:drift", { CI_PIPELINE_SOURCE: "schedule", CI_JOB_ID: "302" });
    fake.pushCommit(projectId, "main", repo.sha);
    fake.addDeployment({ projectId, environment: "dev", sha: repo.sha, ref: "main" });
    runs.promote = await job("dev:promote", { ...push, CI_JOB_ID: "202" });
    files.promotePreview = projectFile(repo, "pulumi-promote-preview.json");
    if (process.env.GITLAB_EKS_DEBUG_LOGS) for (const [k, r] of Object.entries(runs)) console.log(k, log(r));
    runs.destroy = await job("dev:destroy", { ...push, CI_COMMIT_REF_PROTECTED: "true", CI_JOB_ID: "203" });
    // The program made to fail (its gate's check refuses): the real CLI exits 1, the preview job fails
    // and the merge request's note says so.
    expectRun(await pulumi(["config", "set", "--stack", "dev", "fail", "true"]), "config set fail");
    runs.failedPreview = await job("dev:preview", { ...inMr, CI_JOB_ID: "102" });
    files.failedReport = projectFile(repo, "pulumi-report.json");
    files.failedNote = fake.state.notes.find((n) => n.noteableIid === mrIid && !n.system)?.body ?? "";
  });

  after(async () => {
    await fake?.close();
    if (tmp && !process.env.GITLAB_EKS_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  function expectRun(r: RunResult, what: string): RunResult {
    return expectOk({ code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr }, `pulumi ${what}`);
  }

  it("the jobs ran the real CLI, not the stand-in", () => {
    assert.ok(!fs.existsSync(repo.pulumiLog), "the stand-in pulumi was never called");
    // The real engine's plan of this program (the stand-in replays another project's).
    assert.match(
      files.previewJson,
      /urn:pulumi:dev::real-consumer::pulumi-nodejs:dynamic\/real-consumer:Record::record/,
    );
  });

  it("preview: the real plan in the merge request note and the widget report", () => {
    assert.equal(runs.preview.code, 0, log(runs.preview));
    assert.deepEqual(JSON.parse(files.report), { create: 3, update: 0, delete: 0 });
    assert.match(files.note, /^#### Pulumi preview for stack `dev`: 3 to create/m);
    assert.match(files.note, /real-consumer:Record/);
  });

  it("preview under expect_no_changes with changes: the job fails with the real CLI's status, 7, without a warning", () => {
    // gitlab-ci-local exits 1 for a failed job and prints the job's own status.
    assert.notEqual(runs.expectNoChanges.code, 0, log(runs.expectNoChanges));
    assert.match(log(runs.expectNoChanges), /dev:preview finished in .* FAIL 7/);
    assert.match(log(runs.expectNoChanges), /stack dev: `pulumi preview` failed with status 7/);
    assert.ok(!log(runs.expectNoChanges).includes("though its `--json` output is a whole plan"));
  });

  it("up: the resources are created and the plain output is a dotenv variable, the secret one is not", () => {
    assert.equal(runs.up.code, 0, log(runs.up));
    assert.equal(files.recordAfterUp, "hello");
    assert.match(runs.up.stdout, /^dev:up > +apiKey +: \[secret\]/m);
    assert.match(runs.up.stdout, /^dev:up > +greeting: "hello \(5 characters\)"/m);
    assert.ok(!/warning:/.test(runs.up.stdout), runs.up.stdout);
    assert.match(files.dotenv, /^PULUMI_OUTPUT_GREETING="?hello \(5 characters\)"?$/m);
    assert.ok(!files.dotenv.includes(API_KEY));
    assert.ok(!/APIKEY/i.test(files.dotenv), files.dotenv);
  });

  it("drift: none right after up; a change made outside the program opens the drift issue and fails the job", () => {
    assert.equal(runs.noDrift.code, 0, log(runs.noDrift));
    assert.match(runs.noDrift.stdout, /stack dev: no drift/);
    assert.equal(runs.drift.code, 1, log(runs.drift));
    assert.match(log(runs.drift), /stack dev: drifted from the code/);
    const issues = fake.state.issues.filter((i) => i.state === "opened");
    assert.equal(issues.length, 1);
  });

  it("promote: the next stack's real preview, then the promotion merge request", () => {
    assert.equal(runs.promote.code, 0, log(runs.promote));
    assert.match(files.promotePreview, /urn:pulumi:staging::real-consumer::/);
    const mrs = fake.state.mergeRequests.filter((m) => m.targetBranch === "staging");
    assert.equal(mrs.length, 1, log(runs.promote));
  });

  it("destroy: the resources are gone", () => {
    assert.equal(runs.destroy.code, 0, log(runs.destroy));
    assert.ok(!fs.existsSync(recordFile), "the record file is deleted");
  });

  it("a failing program: the real CLI's exit 1 fails the preview job; the one note and the report say so", () => {
    assert.equal(runs.failedPreview.code, 1, log(runs.failedPreview));
    assert.match(log(runs.failedPreview), /the gate is closed \(real-consumer:fail is true\)/);
    assert.deepEqual(JSON.parse(files.failedReport), {
      error: "pulumi preview failed: no plan. See the job log.",
    });
    assert.equal(fake.state.notes.filter((n) => n.noteableIid === mrIid && !n.system).length, 1);
    assert.match(files.failedNote, /^#### Pulumi preview for stack `dev` failed: 1 error$/m);
    assert.match(files.failedNote, /^error: pulumi-nodejs:dynamic\/real-consumer:Gate resource 'gate'/m);
    assert.ok(!files.failedNote.includes("error: error:"), files.failedNote);
  });

  it("no secret in any job log", () => {
    for (const [name, r] of Object.entries(runs)) {
      assert.ok(!log(r).includes(API_KEY), `${name} printed the secret`);
      assert.ok(!log(r).includes(PASSPHRASE), `${name} printed the passphrase`);
    }
  });
});
