/**
 * `gitlab-eks ci ...`: bad input as the job log shows it (the CLI run as a child process, as the component
 * runs it): every problem named with its input and fix, before anything is read.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cli } from "./support/cli";
import { consumer, noCi, PROJECT } from "./support/ci-fixtures";

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

  it("a stack option that is not a stack name is a usage error (exit 2), every one at once, before anything is read", () => {
    const dir = consumer(PROJECT);
    const promote = cli(
      ["ci", "promote", "--stack", "../x", "--from-stack", "a b", "--target-branch", "staging"],
      { cwd: dir, env: noCi },
    );
    assert.equal(promote.code, 2);
    assert.deepEqual(promote.stderr.split("\n").slice(0, 2), [
      `error: option '-s, --stack <name>' argument is invalid. "../x" is not a stack name (letters, digits, '-', '_' and '.', at most 100 each, optionally org/project/stack). Fix: --stack dev`,
      `error: option '--from-stack <name>' argument is invalid. "a b" is not a stack name (letters, digits, '-', '_' and '.', at most 100 each, optionally org/project/stack). Fix: --from-stack dev`,
    ]);
    for (const [step, extra] of [
      ["preview", ["--json", "p.json", "--report", "r.json"]],
      ["drift", ["--json", "p.json"]],
      ["check", ["--backend-url", "s3://b"]],
    ] as const)
      for (const stack of ["..", "dev/../../x", "a/b/c/d", "dev;rm", "x".repeat(101)]) {
        const r = cli(["ci", step, "--stack", stack, ...extra], { cwd: dir, env: noCi });
        assert.equal(r.code, 2, `${step} ${stack}: ${r.stderr}`);
        assert.match(
          r.stderr,
          /^error: option '-s, --stack <name>' argument is invalid\. .* is not a stack name/,
        );
        assert.doesNotMatch(r.stderr, /p\.json/, "the step did not run");
      }
    assert.ok(!fs.existsSync(path.join(dir, "r.json")));
    const qualified = cli(["ci", "check", "--stack", "acme/infra/dev", "--backend-url", "s3://b"], {
      cwd: dir,
      env: noCi,
    });
    assert.equal(qualified.code, 0, qualified.stderr);
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
