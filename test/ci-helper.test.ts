/**
 * `gitlab-eks ci ...` without gitlab-ci-local: the pure parts (counts, note, secrets) and bad input as the
 * job log shows it (the CLI run as a child process, as the component runs it).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  countChanges,
  maskSecrets,
  parsePreview,
  terraformReport,
  type PreviewDigest,
} from "../infra/ci/preview";
import { marker, MAX_DIFF_CHARS, renderPreviewNote } from "../infra/ci/render";
import { cli, cliAsync, ROOT } from "./support/cli";
import { AccessLevel, startFakeGitlab, type FakeGitlab } from "./support/fake-gitlab";

const FIXTURES = path.join(ROOT, "test", "fixtures", "pulumi");
const fixture = (name: string) => parsePreview(fs.readFileSync(path.join(FIXTURES, name), "utf8"), name);

function consumer(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-ci-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}
const PROJECT = { "Pulumi.yaml": "name: infra-live\nruntime: nodejs\n", "Pulumi.dev.yaml": "config: {}\n" };
const noCi = {
  CI_PROJECT_ID: "",
  CI_MERGE_REQUEST_IID: "",
  GITLAB_EKS_TOKEN: "",
  CI_JOB_TOKEN: "",
  CI_COMMIT_BRANCH: "",
};

describe("gitlab-eks ci: reading Pulumi's preview", () => {
  it("counts from Pulumi's changeSummary, a replacement once", () => {
    assert.deepEqual(countChanges(fixture("preview-changes.json")), {
      create: 1,
      update: 2,
      replace: 1,
      delete: 1,
      same: 41,
    });
    assert.deepEqual(countChanges(fixture("preview-no-changes.json")), {
      create: 0,
      update: 0,
      replace: 0,
      delete: 0,
      same: 46,
    });
  });

  it("counts from the steps when changeSummary is missing, skipping the stack, providers and replacement halves", () => {
    const d = fixture("preview-changes.json");
    const steps = [
      ...(d.steps ?? []),
      {
        op: "create-replacement",
        urn: "urn:pulumi:dev::p::aws:ec2/launchTemplate:LaunchTemplate::gitlab-eks-dev-runner",
      },
      {
        op: "delete-replaced",
        urn: "urn:pulumi:dev::p::aws:ec2/launchTemplate:LaunchTemplate::gitlab-eks-dev-runner",
      },
      { op: "create", urn: "urn:pulumi:dev::p::pulumi:providers:aws::default_7_48_0" },
    ];
    assert.deepEqual(countChanges({ steps }), { create: 1, update: 2, replace: 1, delete: 1, same: 0 });
  });

  it("widget report: replacements count as create and delete", () => {
    assert.deepEqual(terraformReport({ create: 1, update: 2, replace: 1, delete: 1, same: 9 }), {
      create: 2,
      update: 2,
      delete: 2,
    });
  });

  it("masks values still shaped like serialized secrets", () => {
    assert.deepEqual(
      maskSecrets({
        a: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "hunter2" },
        b: [{ ciphertext: "x" }],
        c: 1,
      }),
      { a: "[secret]", b: ["[secret]"], c: 1 },
    );
  });

  it("the note never contains a secret value, even when a step carries one unmasked by mistake", () => {
    const d: PreviewDigest = {
      steps: [
        {
          op: "create",
          urn: "urn:pulumi:dev::p::aws:ssm/parameter:Parameter::token",
          newState: {
            urn: "urn:pulumi:dev::p::aws:ssm/parameter:Parameter::token",
            inputs: {
              value: {
                "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                value: "s3cr3t-value",
              },
            },
          },
        },
      ],
      changeSummary: { create: 1 },
    };
    const note = renderPreviewNote(d, { stack: "dev" });
    assert.ok(!note.includes("s3cr3t-value"));
    assert.match(note, /value: "\[secret\]"/);
  });

  it("a value with a fence cannot close the diff block, and a huge diff is cut with a pointer to the artifact", () => {
    const many: PreviewDigest = {
      steps: Array.from({ length: 3000 }, (_, i) => ({
        op: "create",
        urn: `urn:pulumi:dev::p::aws:s3/bucket:Bucket::b${i}`,
        newState: { urn: "x", inputs: { policy: "```\nbreak out\n```".repeat(3) } },
      })),
      changeSummary: { create: 3000 },
    };
    const note = renderPreviewNote(many, { stack: "dev" });
    assert.equal(note.match(/^```/gm)?.length, 2, "exactly one opening and one closing fence");
    assert.ok(note.length < MAX_DIFF_CHARS + 5000);
    assert.match(note, /more resource\(s\) not shown here: the full preview is kept as the job's artifact/);
  });

  it("in a merged-results pipeline the note names the merged heads, not GitLab's temporary merge commit", () => {
    const note = renderPreviewNote(fixture("preview-no-changes.json"), {
      stack: "dev",
      commitSha: "9999999999999999999999999999999999999999",
      mergedResult: {
        sourceSha: "1111111111111111111111111111111111111111",
        targetSha: "2222222222222222222222222222222222222222",
        targetBranch: "main",
      },
      jobUrl: "https://gitlab.example.com/p/-/jobs/7",
    });
    assert.match(
      note,
      /\n<sub>merged result of `11111111` into `main` at `22222222` · \[job log\]\(https:\/\/gitlab\.example\.com\/p\/-\/jobs\/7\) · posted by gitlab-eks<\/sub>\n$/,
    );
    assert.ok(!note.includes("99999999"));
  });

  it("names the file and says what went wrong when the preview output is not Pulumi's JSON", () => {
    assert.throws(
      () => parsePreview("", "p.json"),
      /p\.json: expected the output of `pulumi preview --json`, but it is empty/,
    );
    assert.throws(() => parsePreview("error: no stack named 'dev' found", "p.json"), /it is not JSON/);
    assert.throws(() => parsePreview('{"steps":[{"urn":"x"}]}', "p.json"), /steps\[0\] has no "op"/);
  });
});

describe("gitlab-eks ci: bad input in the job log", () => {
  it("check: an unknown stack names the input, the stacks found, and the fix", () => {
    const dir = consumer(PROJECT);
    const r = cli(["ci", "check", "--stack", "prod", "--backend-url", "s3://b"], { cwd: dir, env: noCi });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `inputs.stack: unknown stack "prod": there is no Pulumi.prod.yaml in "${dir}". Stacks found: dev. Fix: set stack to one of them, or commit Pulumi.prod.yaml.\n`,
    );
  });

  it("check: a missing backend URL says which input or variable to set", () => {
    const r = cli(["ci", "check", "--stack", "dev", "--backend-url", ""], {
      cwd: consumer(PROJECT),
      env: noCi,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^inputs\.backend_url: no Pulumi backend: .*Fix: set the backend_url input, or a CI\/CD variable PULUMI_BACKEND_URL/,
    );
  });

  it("check: a root_dir without Pulumi.yaml is reported as such", () => {
    const r = cli(["ci", "check", "--stack", "dev", "--dir", "nowhere"], {
      cwd: consumer(PROJECT),
      env: noCi,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^inputs\.root_dir: no Pulumi\.yaml in ".*nowhere"/);
  });

  it("check: deploying from an unprotected deploy branch warns, and still passes", () => {
    const env = { ...noCi, CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "false" };
    const r = cli(["ci", "check", "--stack", "dev", "--backend-url", "s3://b", "--deploy-branch", "main"], {
      cwd: consumer(PROJECT),
      env,
    });
    assert.equal(r.code, 0);
    assert.match(
      r.stderr,
      /^warning: branch main deploys stack dev but is not protected\..*Protected branches/,
    );
    const protectedRun = cli(
      ["ci", "check", "--stack", "dev", "--backend-url", "s3://b", "--deploy-branch", "main"],
      {
        cwd: consumer(PROJECT),
        env: { ...env, CI_COMMIT_REF_PROTECTED: "true" },
      },
    );
    assert.equal(protectedRun.stderr, "");
  });

  it("preview: output that is not Pulumi's JSON fails with the file and a hint", () => {
    const dir = consumer({ ...PROJECT, "p.json": "error: failed to load language plugin nodejs\n" });
    const r = cli(["ci", "preview", "--stack", "dev", "--json", "p.json"], { cwd: dir, env: noCi });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^--json: p\.json: expected the output of `pulumi preview --json`, but it is not JSON\. Did pulumi fail/,
    );
  });

  it("outputs: a URL output that is secret or missing is refused, naming the input", () => {
    const dir = consumer({ "o.json": JSON.stringify({ url: "[secret]", name: "x" }) });
    const secret = cli(["ci", "outputs", "--json", "o.json", "--dotenv", "o.env", "--url-output", "url"], {
      cwd: dir,
      env: noCi,
    });
    assert.equal(secret.code, 1);
    assert.match(secret.stderr, /^inputs\.environment_url_output: output "url" is a secret/);
    const missing = cli(["ci", "outputs", "--json", "o.json", "--dotenv", "o.env", "--url-output", "site"], {
      cwd: dir,
      env: noCi,
    });
    assert.match(
      missing.stderr,
      /^inputs\.environment_url_output: the stack has no output "site" \(outputs: url, name\)/,
    );
  });

  it("promote: without a token it fails and says which variable to set, never printing a token", () => {
    const dir = consumer({ ...PROJECT });
    const env = {
      ...noCi,
      CI_JOB_TOKEN: "glcbt-secret-job-token",
      CI_COMMIT_BRANCH: "main",
      CI_COMMIT_SHA: "0123456789abcdef0123456789abcdef01234567",
      CI_PROJECT_ID: "1",
    };
    const r = cli(
      ["ci", "promote", "--stack", "staging", "--from-stack", "dev", "--target-branch", "staging"],
      { cwd: dir, env },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^GITLAB_EKS_TOKEN: Opening the promotion merge request needs a GitLab token in the GITLAB_EKS_TOKEN environment variable/,
    );
    assert.match(r.stderr, /Only CI_JOB_TOKEN is available/);
    assert.ok(!r.stderr.includes("glcbt-secret-job-token"));
  });

  it("promote: promoting a branch onto itself is refused", () => {
    const env = { ...noCi, CI_COMMIT_BRANCH: "staging" };
    const r = cli(
      ["ci", "promote", "--stack", "staging", "--from-stack", "dev", "--target-branch", "staging"],
      { cwd: consumer(PROJECT), env },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^inputs\.promote_to_branch: is staging, the branch being promoted/);
  });

  it("promote: a bad commit and a deploy branch as promotion branch are reported together", () => {
    const env = { ...noCi, CI_COMMIT_BRANCH: "main" };
    const r = cli(
      [
        "ci",
        "promote",
        "--stack",
        "staging",
        "--from-stack",
        "dev",
        "--target-branch",
        "staging",
        "--sha",
        "abc123",
        "--promotion-branch",
        "staging",
      ],
      { cwd: consumer(PROJECT), env },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^--sha: is "abc123", not the full 40-character commit SHA that was deployed\.$/m);
    assert.match(r.stderr, /^--promotion-branch: is staging, a deploy branch: it is deleted and re-created/m);
  });
});

describe("gitlab-eks ci drift: when the drift is gone", function () {
  this.timeout(60_000);
  const NO_CHANGES = fs.readFileSync(path.join(FIXTURES, "preview-no-changes.json"), "utf8");
  let fake: FakeGitlab;
  let projectId: number;
  let token: string;
  let botId: number;

  before(async () => {
    fake = await startFakeGitlab();
    const bot = fake.addUser({ username: "infra-bot", bot: true });
    botId = bot.id;
    const project = fake.addProject({
      path: "infra-live",
      ownerUserId: bot.id,
      members: { [bot.id]: AccessLevel.MAINTAINER },
    });
    projectId = project.id;
    token = fake.addToken({ userId: bot.id, scopes: ["api"] }).token;
  });

  after(async () => {
    await fake?.close();
  });

  const issue = (state: "opened" | "closed", stack: string, label = "pulumi-drift") =>
    fake.addIssue({
      projectId,
      authorId: botId,
      title: `Drift detected in Pulumi stack ${stack}`,
      description: `${marker("drift", stack)}\nThe scheduled refresh ...`,
      labels: [label],
      state,
    });
  const drift = (extra: string[], env: Record<string, string>, json = NO_CHANGES) =>
    cliAsync(["ci", "drift", "--stack", "dev", "--json", "p.json", ...extra], {
      cwd: consumer({ "p.json": json }),
      env: { ...noCi, CI_SERVER_URL: fake.url, CI_PROJECT_ID: String(projectId), ...env },
    });

  it("without a token it still succeeds, and says that no issue was checked and why", () => {
    const r = cli(["ci", "drift", "--stack", "dev", "--json", "p.json"], {
      cwd: consumer({ "p.json": NO_CHANGES }),
      env: { ...noCi, CI_PROJECT_ID: "1" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "stack dev: no drift (46 resources unchanged).\n");
    assert.match(
      r.stderr,
      /^no drift issue checked, so an open one stays open\. Closing the drift issue needs a GitLab token in the GITLAB_EKS_TOKEN environment variable: .* It is not set\.\n$/,
    );
  });

  it("with a token and no open drift issue of this stack, it looks and changes nothing", async () => {
    fake.clearRequests();
    const closedBefore = issue("closed", "dev");
    const otherStack = issue("opened", "staging");
    const otherLabel = issue("opened", "dev", "incident");
    const r = await drift([], { GITLAB_EKS_TOKEN: token });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^stack dev: no drift .*\nno open drift issue for stack dev: nothing to close\.\n$/,
    );
    assert.equal(
      fake.countRequests({ method: "GET", pathPattern: new RegExp(`/projects/${projectId}/issues$`) }),
      1,
    );
    assert.deepEqual(fake.mutatingRequests(), []);
    assert.deepEqual(
      [closedBefore, otherStack, otherLabel].map((i) => i.state),
      ["closed", "opened", "opened"],
    );
    assert.equal(fake.state.notes.length, 0);
  });

  it("a preview that failed closes nothing: drift is not ruled out", async () => {
    const open = issue("opened", "dev");
    fake.clearRequests();
    const failed = await drift(["--pulumi-status", "255"], { GITLAB_EKS_TOKEN: token });
    assert.equal(failed.code, 0, failed.stderr);
    assert.match(
      failed.stderr,
      /^stack dev: the preview lists no changes, but pulumi exited with 255 .*no drift issue was closed\./,
    );
    const withError = JSON.stringify({
      diagnostics: [{ message: "error: refreshing: AccessDenied", severity: "error" }],
      changeSummary: {},
    });
    const errored = await drift(["--pulumi-status", "0"], { GITLAB_EKS_TOKEN: token }, withError);
    assert.equal(errored.code, 0, errored.stderr);
    assert.match(errored.stderr, /but Pulumi reported 1 error\(s\)/);
    assert.equal(fake.requests.length, 0, "GitLab is not even asked");
    assert.equal(open.state, "opened");
    const bad = await drift(["--pulumi-status", "oops"], { GITLAB_EKS_TOKEN: token });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^--pulumi-status: is "oops"/);
  });
});
