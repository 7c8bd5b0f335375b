/**
 * scripts/up, the README's one command, run with a STAND-IN `pulumi` on PATH (the real CLI cannot be
 * installed here): the stand-in only records its arguments and the backend/secrets environment it was
 * given, so this checks the script's plumbing, not Pulumi itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./support/cli";

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

function up(
  args: string[],
  t: ReturnType<typeof setup>,
  env: Record<string, string> = {},
  withPulumi = true,
) {
  const base = { ...process.env };
  for (const k of [
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_SECRETS_PROVIDER",
  ])
    delete base[k];
  const pathDirs = [withPulumi ? t.bin : "", path.dirname(process.execPath), "/usr/bin", "/bin"].filter(
    Boolean,
  );
  return spawnSync("bash", [path.join(ROOT, "scripts", "up"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      ...base,
      PATH: pathDirs.join(":"),
      PULUMI_STANDIN_LOG: t.log,
      GITLAB_EKS_STATE_DIR: t.state,
      GITLAB_EKS_SKIP_INSTALL: "1",
      ...env,
    },
  });
}

const calls = (log: string) => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "");

describe("scripts/up (with a stand-in pulumi)", () => {
  it("validates, then selects or creates the stack on a local file backend with a generated passphrase, then runs up", () => {
    const t = setup();
    const r = up(["dev", "--yes"], t);
    assert.equal(r.status, 0, r.stderr);
    const log = calls(t.log);
    assert.match(log, /^ARGS stack select dev --create --secrets-provider passphrase --non-interactive$/m);
    assert.match(log, /^ARGS up --stack dev --yes$/m);
    assert.match(log, new RegExp(`^BACKEND file://${t.state}$`, "m"));
    const passfile = path.join(t.state, "passphrase");
    assert.match(log, new RegExp(`^PASSFILE ${passfile}$`, "m"));
    assert.equal(fs.statSync(passfile).mode & 0o777, 0o600);
    const passphrase = fs.readFileSync(passfile, "utf8");
    assert.ok(passphrase.trim().length >= 40);
    assert.ok(!r.stderr.includes(passphrase.trim()), "the passphrase is never printed");

    // Again: the same passphrase, not a new one.
    assert.equal(up(["dev", "--yes"], t).status, 0);
    assert.equal(fs.readFileSync(passfile, "utf8"), passphrase);
  });

  it("uses the team backend and secrets provider when they are set, and creates no local state", () => {
    const t = setup();
    const r = up(["staging"], t, {
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

  it("stops before Pulumi when the stack's config is invalid", () => {
    const t = setup();
    const r = up(["nosuchstack"], t);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Pulumi\.nosuchstack\.yaml: not found/);
    assert.match(r.stderr, /fix the configuration of stack "nosuchstack"/);
    assert.equal(calls(t.log), "");
  });

  it("says how to get the Pulumi CLI when it is missing", () => {
    const t = setup();
    const r = up(["dev"], t, {}, false);
    assert.equal(r.status, 127);
    assert.match(r.stderr, /the Pulumi CLI is not on PATH/);
  });
});
