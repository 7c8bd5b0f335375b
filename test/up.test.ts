/**
 * scripts/up, the README's one command, run as a child process with a STAND-IN `pulumi` on PATH (the real
 * CLI cannot be installed here): the stand-in only records its arguments and the backend/secrets
 * environment it was given, so this checks the script's plumbing and order, not Pulumi itself. The GitLab
 * checks (`gitlab-eks doctor`) run against the fake GitLab.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./support/cli";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

const STAND_IN = `#!/usr/bin/env bash
# Stand-in for the Pulumi CLI: records what it was asked, does nothing else.
{
  printf 'ARGS %s\\n' "$*"
  printf 'BACKEND %s\\n' "\${PULUMI_BACKEND_URL:-}"
  printf 'PASSFILE %s\\n' "\${PULUMI_CONFIG_PASSPHRASE_FILE:-}"
} >>"$PULUMI_STANDIN_LOG"
`;

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "up-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "pulumi"), STAND_IN, { mode: 0o755 });
  return { dir, bin, log: path.join(dir, "pulumi.log"), state: path.join(dir, "state") };
}

interface Run {
  status: number | null;
  stderr: string;
  stdout: string;
}

/** Runs scripts/up without blocking this process (the fake GitLab answers from it). */
function up(
  args: string[],
  t: ReturnType<typeof setup>,
  env: Record<string, string> = {},
  withPulumi = true,
): Promise<Run> {
  const base = { ...process.env };
  for (const k of [
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_SECRETS_PROVIDER",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "CI_SERVER_URL",
  ])
    delete base[k];
  const pathDirs = [withPulumi ? t.bin : "", path.dirname(process.execPath), "/usr/bin", "/bin"].filter(
    Boolean,
  );
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(ROOT, "scripts", "up"), ...args], {
      cwd: ROOT,
      env: {
        ...base,
        PATH: pathDirs.join(":"),
        PULUMI_STANDIN_LOG: t.log,
        GITLAB_EKS_STATE_DIR: t.state,
        GITLAB_EKS_SKIP_INSTALL: "1",
        ...env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const calls = (log: string) => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "");

describe("scripts/up (with a stand-in pulumi)", () => {
  let w: GitlabWorld;
  // Stack files in the repository root, where scripts/up reads them; removed afterwards.
  const good = `uptest-${process.pid}`;
  const bad = `uptest-bad-${process.pid}`;
  const stackFile = (name: string) => path.join(ROOT, `Pulumi.${name}.yaml`);
  const stack = (url: string, extra = "") => `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: ${url}
    agentProject: platform/clusters
${extra}`;

  before(async () => {
    w = await gitlabWorld({
      instance: { version: "18.5.1-ee", kas: { version: "18.5.1", externalUrl: "wss://kas.example.com" } },
    });
    fs.writeFileSync(stackFile(good), stack(w.fake.url));
    fs.writeFileSync(
      stackFile(bad),
      stack(w.fake.url, "  gitlab-eks:runnerPool:\n    instanceTypes: [t3.gigantic]\n"),
    );
  });
  after(async () => {
    for (const name of [good, bad]) fs.rmSync(stackFile(name), { force: true });
    await w.fake.close();
  });

  it("validates, checks GitLab, then selects or creates the stack on a local file backend with a generated passphrase, then runs up", async () => {
    const t = setup();
    const r = await up([good, "--yes"], t, { GITLAB_TOKEN: w.maintainerToken });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ok {4}token scopes: /);
    assert.match(r.stderr, /all checks passed/);
    const log = calls(t.log);
    assert.match(
      log,
      new RegExp(`^ARGS stack select ${good} --create --secrets-provider passphrase --non-interactive$`, "m"),
    );
    assert.match(log, new RegExp(`^ARGS up --stack ${good} --yes$`, "m"));
    assert.match(log, new RegExp(`^BACKEND file://${t.state}$`, "m"));
    const passfile = path.join(t.state, "passphrase");
    assert.match(log, new RegExp(`^PASSFILE ${passfile}$`, "m"));
    assert.equal(fs.statSync(passfile).mode & 0o777, 0o600);
    const passphrase = fs.readFileSync(passfile, "utf8");
    assert.ok(passphrase.trim().length >= 40);
    assert.ok(!r.stderr.includes(passphrase.trim()), "the passphrase is never printed");
    assert.ok(!r.stderr.includes(w.maintainerToken), "the token is never printed");

    // Again: the same passphrase, not a new one.
    assert.equal((await up([good, "--yes"], t, { GITLAB_TOKEN: w.maintainerToken })).status, 0);
    assert.equal(fs.readFileSync(passfile, "utf8"), passphrase);
  });

  it("uses the team backend and secrets provider when they are set, and creates no local state", async () => {
    const t = setup();
    const r = await up([good], t, {
      GITLAB_TOKEN: w.maintainerToken,
      PULUMI_BACKEND_URL: "s3://team-state/gitlab-eks",
      PULUMI_SECRETS_PROVIDER: "awskms://alias/pulumi",
    });
    assert.equal(r.status, 0, r.stderr);
    const log = calls(t.log);
    assert.match(log, /^BACKEND s3:\/\/team-state\/gitlab-eks$/m);
    assert.match(log, /^PASSFILE $/m);
    assert.match(log, /--secrets-provider awskms:\/\/alias\/pulumi/);
    assert.equal(fs.existsSync(t.state), false);
  });

  it("with only PULUMI_BACKEND_URL set, creates nothing locally and says which secrets setting is missing", async () => {
    const t = setup();
    const r = await up([good], t, {
      GITLAB_TOKEN: w.maintainerToken,
      PULUMI_BACKEND_URL: "s3://team-state/gitlab-eks",
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PULUMI_BACKEND_URL is set, so nothing is created locally/);
    assert.match(r.stderr, /Set PULUMI_SECRETS_PROVIDER/);
    assert.equal(fs.existsSync(t.state), false, "no passphrase file, no state folder");
    assert.equal(calls(t.log), "");
  });

  it("on a fresh clone without Pulumi, prints the validation result first, then what else is missing", async () => {
    const t = setup();
    const r = await up([bad], t, {}, false);
    assert.equal(r.status, 1);
    const problem = r.stderr.indexOf("gitlab-eks:runnerPool.instanceTypes[0]:");
    const noCli = r.stderr.indexOf("the Pulumi CLI is not on PATH");
    assert.ok(problem >= 0, r.stderr);
    assert.ok(noCli > problem, `validation is reported before the missing CLI:\n${r.stderr}`);
    assert.match(r.stderr, /did you mean t3\.large\?/);
    assert.match(r.stderr, /not running pulumi up; fix, then run again:\n {2}- the configuration of stack/);
    assert.match(r.stderr, /- the Pulumi CLI is missing/);
  });

  it("reports the GitLab checks that fail and the missing CLI together, and never runs pulumi", async () => {
    const t = setup();
    const r = await up([good], t, { GITLAB_TOKEN: w.readOnlyToken }, false);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /FAIL {2}token scopes: scopes: read_api/);
    assert.match(r.stderr, /- the Pulumi CLI is missing/);
    assert.match(r.stderr, /- the GitLab checks/);

    const withCli = setup();
    const again = await up([good], withCli, { GITLAB_TOKEN: w.readOnlyToken });
    assert.equal(again.status, 1);
    assert.equal(calls(withCli.log), "", "pulumi is not run when a check fails");
    assert.equal(fs.existsSync(withCli.state), false);
  });

  it("stops before Pulumi when the stack has no config file", async () => {
    const t = setup();
    const r = await up(["nosuchstack"], t);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Pulumi\.nosuchstack\.yaml: not found/);
    assert.match(r.stderr, /the configuration of stack "nosuchstack"/);
    assert.equal(calls(t.log), "");
  });
});
