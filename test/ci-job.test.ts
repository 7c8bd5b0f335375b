/**
 * `gitlab-eks ci job <name>`, the whole of a component job, without gitlab-ci-local: the CLI runs in this
 * process (so the test sees each line the moment the helper prints it) in a throwaway consumer folder,
 * with the stand-in pulumi (test/fixtures/bin/pulumi) on PATH, and the job's variables as the templates
 * set them. What moved out of the templates' shell is asserted here: the web identity file, the install
 * command, stack select, the pulumi call and its flags, streaming, masking, and the exit statuses. Settings
 * and masking on their own are in test/ci-job-settings.test.ts; the shared harness in test/support/ci-job.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLI, ROOT } from "./support/cli";
import { processTimeout } from "./support/gcl";
import {
  AGENT,
  args,
  AWS_KEY,
  BOT_TOKEN,
  consumerDir,
  DEPLOY,
  GITLAB_TOKEN,
  ID_TOKEN,
  job,
  PAT,
  RUNNER,
  text,
  TEMPLATE_VARS,
} from "./support/ci-job";

describe("gitlab-eks ci job: the job, step by step (stand-in pulumi)", function () {
  // Each test runs the helper up to four times, each spawning up to four programs (the stand-in pulumi,
  // the install command): a busy machine slows them down without failing a test.
  this.timeout(processTimeout(16));

  it("AWS: the ID token becomes a web identity file of mode 600 that pulumi gets, and is never printed", async () => {
    const role = "arn:aws:iam::111122223333:role/pulumi-preview";
    const r = await job("preview", {
      GITLAB_EKS_AWS_ROLE_ARN: role,
      GITLAB_EKS_ID_TOKEN: ID_TOKEN,
      CI_JOB_ID: "7",
    });
    assert.equal(r.code, 0, text(r));
    const file = path.join(r.dir, ".gitlab-eks", "web-identity-token");
    assert.equal(fs.readFileSync(file, "utf8"), ID_TOKEN);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    for (const call of r.calls)
      assert.match(call, new RegExp(`web_identity=${role.replace(/[/:]/g, "\\$&")}$`));
    assert.ok(!text(r).includes(ID_TOKEN));
    assert.match(
      text(r),
      /AWS: role arn:aws:iam::111122223333:role\/pulumi-preview through the job's OIDC ID token/,
    );
  });

  it("a web identity file left by an earlier job with wider permissions is tightened to 600", async () => {
    const dir = consumerDir();
    const file = path.join(dir, ".gitlab-eks", "web-identity-token");
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, "old", { mode: 0o644 });
    const r = await job(
      "up",
      { GITLAB_EKS_AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/deploy", GITLAB_EKS_ID_TOKEN: ID_TOKEN },
      { dir },
    );
    assert.equal(r.code, 0, text(r));
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(file, "utf8"), ID_TOKEN);
  });

  it("runs the install command in root_dir, then selects (or creates) the stack with the secrets provider", async () => {
    const r = await job("preview", {
      GITLAB_EKS_ROOT_DIR: "infra/live",
      GITLAB_EKS_INSTALL_COMMAND: 'pwd > installed-in && echo "installing deps"',
      GITLAB_EKS_SECRETS_PROVIDER: "awskms://alias/pulumi",
    });
    assert.equal(r.code, 0, text(r));
    const project = fs.realpathSync(path.join(r.dir, "infra", "live"));
    assert.equal(
      fs.realpathSync(fs.readFileSync(path.join(project, "installed-in"), "utf8").trim()),
      project,
    );
    assert.ok(r.out.includes("installing deps"), "the install command's output is in the log");
    assert.deepEqual(args(r), [
      "stack select dev --create --secrets-provider awskms://alias/pulumi",
      "preview --non-interactive --stack dev --json",
    ]);
    assert.ok(
      r.calls.every((c) => c.includes(`cwd=${project}`)),
      "pulumi --cwd root_dir",
    );
  });

  it("a failing install command ends the job with its status, naming the input; pulumi never runs", async () => {
    const r = await job("up", { GITLAB_EKS_INSTALL_COMMAND: "echo broken >&2; exit 7" });
    assert.equal(r.code, 7);
    assert.ok(r.err.includes("broken"));
    assert.match(text(r), /^inputs\.install_command: exited with status 7 in \. \(its output is above\)/m);
    assert.deepEqual(r.calls, []);
  });

  it("bad inputs are reported all at once before anything runs (exit 1)", async () => {
    const r = await job("preview", {
      GITLAB_EKS_STACK: "prod",
      GITLAB_EKS_BACKEND_URL: "",
      GITLAB_EKS_REFRESH: "maybe",
      GITLAB_EKS_AWS_ROLE_ARN: "arn:aws:iam::111122223333:role/ro",
      GITLAB_EKS_INSTALL_COMMAND: "touch installed",
    });
    assert.equal(r.code, 1);
    assert.deepEqual(
      r.err.map((l) => l.split(":")[0]),
      ["inputs.refresh", "inputs.aws_role_arn", "inputs.stack", "inputs.backend_url"],
    );
    assert.deepEqual(r.calls, []);
    assert.ok(!fs.existsSync(path.join(r.dir, "installed")));
  });

  it("stack and promote_to_stack that are not stack names are both reported, before anything runs (exit 1)", async () => {
    const r = await job("promote", { GITLAB_EKS_STACK: "../../etc", GITLAB_EKS_PROMOTE_TO_STACK: "a b" });
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.slice(0, 2), [
      `inputs.stack: "../../etc" is not a stack name (letters, digits, '-', '_' and '.', at most 100 each, optionally org/project/stack). Fix: the name of a Pulumi.<stack>.yaml in root_dir, e.g. dev.`,
      `inputs.promote_to_stack: "a b" is not a stack name (letters, digits, '-', '_' and '.', at most 100 each, optionally org/project/stack). Fix: the name of a Pulumi.<stack>.yaml in root_dir, e.g. dev.`,
    ]);
    assert.deepEqual(r.calls, []);
  });

  it("a failing stack select ends the job with pulumi's status", async () => {
    const r = await job("destroy", { PULUMI_STANDIN_SELECT_EXIT: "255" });
    assert.equal(r.code, 255);
    assert.match(text(r), /stack dev: `pulumi stack select` failed with status 255/);
    assert.deepEqual(args(r), ["stack select dev"]);
  });

  it("without pulumi on PATH: exit 127 and the fix", async () => {
    const r = await job("up", {}, { path: path.dirname(process.execPath) });
    assert.equal(r.code, 127);
    assert.match(
      text(r),
      /pulumi: not found on PATH\. Fix: use an image with the Pulumi CLI \(inputs\.image\)/,
    );
  });

  it("up streams pulumi's output to the log as it runs, masked, then writes the dotenv outputs", async () => {
    const said = `token ${GITLAB_TOKEN} and ${PAT} ${RUNNER} ${AGENT} ${DEPLOY} key ${AWS_KEY} bot ${BOT_TOKEN}`;
    const dir = consumerDir();
    const seen = path.join(dir, "seen");
    const r = await job(
      "up",
      {
        GITLAB_TOKEN,
        INFRA_GITLAB: BOT_TOKEN,
        PULUMI_STANDIN_SAY: said,
        PULUMI_STANDIN_WAIT_FOR: seen,
        GITLAB_EKS_URL_OUTPUT: "url",
      },
      {
        dir,
        // The stand-in waits after its first progress line until this file exists: only a helper that
        // shows pulumi's lines as they come lets it finish (else it fails with status 3).
        onLine: (line) => {
          if (line.startsWith("step 1 of 2")) fs.writeFileSync(seen, "");
        },
      },
    );
    assert.equal(r.code, 0, text(r));
    assert.ok(r.out.includes("step 2 of 2 (stand-in): done"));
    const line = r.out.find((l) => l.startsWith("token "));
    assert.equal(line, "token [secret] and [secret] [secret] [secret] [secret] key [secret] bot [secret]");
    for (const secret of [GITLAB_TOKEN, PAT, RUNNER, AGENT, DEPLOY, AWS_KEY, BOT_TOKEN])
      assert.ok(!text(r).includes(secret));
    assert.deepEqual(args(r).slice(-3), [
      "stack select dev",
      "up --yes --non-interactive --skip-preview --stack dev",
      "stack output --stack dev --json",
    ]);
    assert.match(
      fs.readFileSync(path.join(r.dir, "pulumi.env"), "utf8"),
      /^ENVIRONMENT_URL=https:\/\/real-consumer\.example\/dev\/5$/m,
    );
  });

  it("a cancelled job (SIGTERM to the helper) is passed on to pulumi, and ends with pulumi's status", async () => {
    const dir = consumerDir();
    const env = {
      PATH: [path.join(ROOT, "test", "fixtures", "bin"), process.env.PATH].join(path.delimiter),
      PULUMI_STANDIN_LOG: path.join(dir, "pulumi-calls.log"),
      // Never created: pulumi would wait for it a minute, unless the signal reaches it.
      PULUMI_STANDIN_WAIT_FOR: path.join(dir, "never"),
      GITLAB_EKS_STACK: "dev",
      GITLAB_EKS_BACKEND_URL: "s3://state/dev",
      ...TEMPLATE_VARS.up,
    };
    const helper = spawn(process.execPath, [CLI, "ci", "job", "up"], { cwd: dir, env });
    let out = "";
    helper.stdout.on("data", (d) => {
      out += d;
      if (out.includes("step 1 of 2")) helper.kill("SIGTERM");
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      helper.on("close", (c, s) => resolve([c, s])),
    );
    assert.equal(signal, null, "the helper waits for pulumi instead of dying with the signal");
    assert.equal(code, 143, "128 + SIGTERM, pulumi's status");
    assert.ok(!out.includes("step 2 of 2"));
  });

  it("a failed up ends the job with pulumi's status and exports nothing", async () => {
    const r = await job("up", { PULUMI_STANDIN_UP_EXIT: "255" });
    assert.equal(r.code, 255);
    assert.match(text(r), /stack dev: `pulumi up` failed with status 255 \(its output is above\)\./);
    assert.ok(!args(r).some((a) => a.startsWith("stack output")));
    assert.ok(!fs.existsSync(path.join(r.dir, "pulumi.env")));
  });

  it("preview exit statuses: a plan 0; changes under expect_no_changes pulumi's 7; a failed preview 1; a plan with an unexplained failure pulumi's status, flagged", async () => {
    const plan = await job("preview");
    assert.equal(plan.code, 0, text(plan));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(plan.dir, "pulumi-report.json"), "utf8")), {
      create: 3,
      update: 0,
      delete: 0,
    });
    const expected = await job("preview", { GITLAB_EKS_EXPECT_NO_CHANGES: "true" });
    assert.equal(expected.code, 7);
    assert.ok(!text(expected).includes("warning"), text(expected));
    assert.ok(
      fs.existsSync(path.join(expected.dir, "pulumi-report.json")),
      "the report is written all the same",
    );
    const error = await job("preview", {
      PULUMI_STANDIN_PREVIEW: "preview-program-error.json",
      PULUMI_STANDIN_EXIT: "1",
    });
    assert.equal(error.code, 1);
    assert.match(text(error), /stack dev: pulumi preview failed with 1 error \(above\)/);
    const policy = await job("preview", { PULUMI_STANDIN_EXIT: "255" });
    assert.equal(policy.code, 255);
    assert.match(
      text(policy),
      /warning: `pulumi preview` exited with status 255, though its `--json` output is a whole plan/,
    );
  });

  it("drift: exit 1 on drift, pulumi's flags for a refresh; promote with no next environment does nothing", async () => {
    const drift = await job("drift", { PULUMI_STANDIN_PREVIEW: "preview-drift.json" });
    assert.equal(drift.code, 1);
    assert.match(text(drift), /stack dev: drifted from the code/);
    assert.deepEqual(args(drift).slice(-1), [
      "preview --non-interactive --refresh --expect-no-changes --stack dev --json",
    ]);
    const last = await job("promote", { GITLAB_EKS_PROMOTE_TO_BRANCH: "", GITLAB_EKS_PROMOTE_TO_STACK: "" });
    assert.equal(last.code, 0);
    assert.match(text(last), /nothing to promote/);
    assert.deepEqual(last.calls, []);
  });

  it("promote previews the next stack and checks it first: an unknown or missing one is named as promote_to_stack", async () => {
    const r = await job("promote", { GITLAB_EKS_PROMOTE_TO_STACK: "qa" });
    assert.equal(r.code, 1);
    assert.match(text(r), /^inputs\.promote_to_stack: unknown stack "qa"/m);
    assert.deepEqual(r.calls, []);
    const empty = await job("promote", { GITLAB_EKS_PROMOTE_TO_STACK: "" });
    assert.equal(empty.code, 1);
    assert.match(
      text(empty),
      /^inputs\.promote_to_stack: is empty, but promote_to_branch is "staging"\. Fix: /m,
    );
  });
});
