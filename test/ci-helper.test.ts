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
  plainMessage,
  previewFailure,
  terraformReport,
  UNKNOWN_VALUE,
  type PreviewDigest,
} from "../infra/ci/preview";
import {
  diagnosticLines,
  marker,
  markers,
  MAX_DIFF_CHARS,
  renderPreviewNote,
  stepLines,
} from "../infra/ci/render";
import { cli, cliAsync, ROOT } from "./support/cli";
import { type FakeGitlab } from "./support/fake-gitlab";
import { processTimeout } from "./support/gcl";
import { consumerWorld } from "./support/gitlab-world";

/** Captured from the real CLI (test/fixtures/pulumi-captured), else hand-written (test/fixtures/pulumi). */
const CAPTURED = path.join(ROOT, "test", "fixtures", "pulumi-captured");
const HANDWRITTEN = path.join(ROOT, "test", "fixtures", "pulumi");
const fixturePath = (name: string) =>
  fs.existsSync(path.join(CAPTURED, name)) ? path.join(CAPTURED, name) : path.join(HANDWRITTEN, name);
/** Shaped like a personal access token, so the masking by shape is tested; built here, never committed. */
const PAT_SHAPED = ["glpat", "AbCdEf0123456789xyz"].join("-");
const fixtureText = (name: string) => fs.readFileSync(fixturePath(name), "utf8");
const fixture = (name: string) => parsePreview(fixtureText(name), name);
const PREVIEWS = [...fs.readdirSync(CAPTURED), ...fs.readdirSync(HANDWRITTEN)].filter((f) =>
  f.startsWith("preview-"),
);
const DIGESTS = PREVIEWS.filter((f) => fixtureText(f).trim() !== "");

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
    // Real captures: the fixture consumer's first preview (3 creates with the stack), then no changes.
    assert.deepEqual(countChanges(fixture("preview-changes.json")), {
      create: 3,
      update: 0,
      replace: 0,
      delete: 0,
      same: 0,
    });
    assert.deepEqual(countChanges(fixture("preview-update.json")), {
      create: 0,
      update: 1,
      replace: 0,
      delete: 0,
      same: 2,
    });
    // A dynamic resource's update has no diffReasons or detailedDiff in real output: the changed inputs
    // are still shown, from its old and new inputs.
    const update = fixture("preview-update.json").steps!.find((s) => s.op === "update")!;
    assert.ok(!update.diffReasons?.length && !update.detailedDiff);
    assert.deepEqual(stepLines(update).slice(1), ['~     content: "hello" => "hello again"']);
    assert.deepEqual(countChanges(fixture("preview-no-changes.json")), {
      create: 0,
      update: 0,
      replace: 0,
      delete: 0,
      same: 3,
    });
    // Hand-written: every operation, a replacement among them.
    assert.deepEqual(countChanges(fixture("preview-every-operation.json")), {
      create: 1,
      update: 2,
      replace: 1,
      delete: 1,
      same: 41,
    });
  });

  it("counts from the steps when changeSummary is missing, skipping the stack, providers and replacement halves", () => {
    const d = fixture("preview-every-operation.json");
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

  it("the fixtures are laid out as pulumi prints them (json.MarshalIndent, 4 spaces, Go's key order)", () => {
    // What real `pulumi preview --json` output looks like; see the header of test/fixtures/bin/pulumi.
    const goJson = (v: unknown, indent: string) =>
      `${JSON.stringify(v, null, indent).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)}\n`;
    const sorted = (o: object) => assert.deepEqual(Object.keys(o), Object.keys(o).sort());
    const inOrder = (o: object, order: string[], what: string) =>
      assert.deepEqual(
        Object.keys(o),
        order.filter((k) => k in o),
        `${what}: keys out of Go's order`,
      );
    assert.deepEqual(DIGESTS.sort(), [
      "preview-before-planning.json",
      "preview-changes.json",
      "preview-drift.json",
      "preview-every-operation.json",
      "preview-no-changes.json",
      "preview-program-error.json",
      "preview-update.json",
    ]);
    for (const name of DIGESTS) {
      const text = fixtureText(name);
      const d = JSON.parse(text) as PreviewDigest;
      assert.equal(text, goJson(d, "    "), `${name} is not laid out as json.MarshalIndent(v, "", "    ")`);
      inOrder(d, ["config", "steps", "diagnostics", "duration", "changeSummary", "maybeCorrupt"], name);
      if (d.config) sorted(d.config);
      // The captures' durations are normalised to 0 (scripts/capture-pulumi-fixtures.ts); a hand-written one is real-looking.
      const captured = fs.existsSync(path.join(CAPTURED, name));
      if (d.duration !== undefined)
        assert.ok(Number.isInteger(d.duration) && (captured ? d.duration === 0 : d.duration > 0), name);
      if (d.changeSummary) {
        sorted(d.changeSummary);
        for (const n of Object.values(d.changeSummary)) assert.ok(n > 0, `${name}: changeSummary has a 0`);
      }
      for (const s of d.steps ?? []) {
        const what = `${name} ${s.op} ${s.urn}`;
        const order = ["op", "urn", "provider", "oldState", "newState"];
        inOrder(s, [...order, "diffReasons", "replaceReasons", "detailedDiff"], what);
        assert.ok("detailedDiff" in s, `${what}: no detailedDiff (Pulumi prints null)`);
        const root = s.urn.includes("::pulumi:pulumi:Stack::");
        assert.equal("provider" in s, !root, `${what}: provider`);
        for (const st of [s.oldState, s.newState])
          if (st) {
            inOrder(
              st,
              [
                "urn",
                "custom",
                "id",
                "type",
                "inputs",
                "outputs",
                "parent",
                "dependencies",
                "provider",
                "propertyDependencies",
                "created",
                "modified",
              ],
              what,
            );
            for (const m of [st.inputs, st.outputs]) if (m) sorted(m);
          }
        if (s.op === "create") assert.ok(!s.oldState && !s.newState?.outputs && !s.newState?.id, what);
        if (s.op === "delete") assert.ok(!s.newState, what);
      }
    }
    const stack = fixtureText("stack-outputs.json");
    assert.equal(stack, `${JSON.stringify(JSON.parse(stack), null, 2)}\n`, "stack output --json: 2 spaces");
    assert.equal(fixtureText("preview-no-stack.json"), "");
    assert.ok(fixtureText("preview-every-operation.json").includes(`"value": "${UNKNOWN_VALUE}"`));
  });

  it("tells a plan from a failed preview: errors, or no steps at all", () => {
    assert.equal(previewFailure(fixture("preview-every-operation.json")), undefined);
    assert.equal(previewFailure(fixture("preview-no-changes.json")), undefined);
    const failed = previewFailure(fixture("preview-program-error.json"));
    assert.equal(failed?.kind, "errors");
    assert.equal(failed?.kind === "errors" && failed.errors.length, 1);
    assert.deepEqual(previewFailure(fixture("preview-before-planning.json")), { kind: "not-planned" });
    // A warning does not fail a preview.
    const warned = fixture("preview-no-changes.json");
    warned.diagnostics = [{ message: "deprecated", severity: "warning" }];
    assert.equal(previewFailure(warned), undefined);
  });

  it("a value unknown until up, the bridge's __defaults and assets are shown as a reviewer reads them", () => {
    const note = renderPreviewNote(fixture("preview-every-operation.json"), { stack: "dev" });
    assert.match(note, /^\+ {5}value: \(known after up\)$/m);
    assert.ok(!note.includes(UNKNOWN_VALUE) && !note.includes("__defaults"));
    const SIG = "4dabf18193072939515e22adb298388d";
    assert.deepEqual(
      maskSecrets({
        code: {
          [SIG]: "0def7320c3a5731c473e5ecbe6d01bc7",
          hash: "9f86d081884c7d659a2feaa0c55ad015",
          path: "./lambda",
        },
        page: {
          [SIG]: "c44067f5952c0a294b673a41bacd8c17",
          hash: "2c26b46b68ffc68ff99b453c1d304134",
          text: "<h1>hi</h1>",
        },
        ref: { [SIG]: "5cf8f73096256a8f31e491e813e4eb8e", urn: "urn:x", id: "i-1" },
      }),
      {
        code: "[archive ./lambda sha256 9f86d081884c]",
        page: "[asset text sha256 2c26b46b68ff]",
        ref: "[secret]",
      },
    );
  });

  it("diagnostics are shown as plain text: no ANSI escapes, no control characters, no secrets", () => {
    const message =
      `\u001b[31mError:\u001b[39m \u001b]8;;https://x.example\u0007link\u001b]8;;\u0007 GET https://gitlab.example.com/api/v4/user?private_token=${PAT_SHAPED}\r\n` +
      "token job-held-secret-value-42, id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqb2IifQ.c2lnbmF0dXJl\u0007";
    assert.equal(
      plainMessage(message, ["job-held-secret-value-42", "short"]),
      "Error: link GET https://gitlab.example.com/api/v4/user?private_token=[secret]\ntoken [secret], id token [secret]",
    );
  });

  it("a program error: the note says the preview failed and shows pulumi's errors, plain and masked, and no plan", () => {
    // The real CLI's failing program (a check failure); the program's stderr, with colours, and a warning
    // holding tokens are added, as a program prints them.
    const d = fixture("preview-program-error.json");
    d.diagnostics?.push(
      {
        message: "\u001b[33m(node:1187) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED\u001b[39m\n",
        severity: "info#err",
      },
      {
        message: `retrying with ${PAT_SHAPED} and tok-0123456789`,
        severity: "warning",
      },
    );
    const note = renderPreviewNote(d, {
      stack: "dev",
      jobUrl: "https://gitlab.example.com/j/1",
      secrets: ["tok-0123456789"],
    });
    const lines = note.split("\n");
    assert.equal(
      lines[0],
      "<!-- gitlab-eks:preview stack=dev dir=. -->",
      "the same marker: the note is edited in place",
    );
    assert.equal(lines[1], "#### Pulumi preview for stack `dev` failed: 1 error");
    assert.match(
      note,
      /^error: pulumi-nodejs:dynamic\/real-consumer:Gate resource 'gate': property fail value \{true\} has a problem: the gate is closed \(real-consumer:fail is true\)$/m,
    );
    assert.match(note, /<summary>Other messages: warnings and the program's stderr \(2\)<\/summary>/);
    assert.match(note, /^program stderr: \(node:1187\) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED/m);
    assert.match(note, /^warning: retrying with \[secret\] and \[secret\]$/m);
    for (const leak of ["\u001b", "glpat-", "tok-0123456789"]) assert.ok(!note.includes(leak), leak);
    assert.ok(
      !note.includes("| create |") && !note.includes("no changes"),
      "no plan is shown for a failed preview",
    );
    assert.equal(note.match(/^```/gm)?.length, 4, "two fenced blocks");
  });

  it("a long error keeps its first lines in the note and the rest in the job log", () => {
    const message = Array.from({ length: 100 }, (_, i) => `line ${i + 1} ${"x".repeat(i === 0 ? 3000 : 5)}`);
    const lines = diagnosticLines([{ message: message.join("\n"), severity: "error" }]);
    assert.equal(lines.length, 61);
    assert.equal(lines[0].length, "error: ".length + 2000 + 1, "a very long line is cut");
    assert.equal(lines[60], "… 40 more line(s) in the job log");
    assert.equal(
      diagnosticLines([{ message: message.join("\n"), severity: "error" }], [], false).length,
      100,
    );
  });

  it("a preview that stopped before planning: the note says so and points at the job log", () => {
    const note = renderPreviewNote(fixture("preview-before-planning.json"), {
      stack: "dev",
      jobUrl: "https://gitlab.example.com/j/2",
    });
    assert.match(note, /^#### Pulumi preview for stack `dev` failed before planning$/m);
    assert.match(
      note,
      /printed no plan: it stopped before planning .* Pulumi's own error is in the \[job log\]\(https:\/\/gitlab\.example\.com\/j\/2\)\./,
    );
    assert.equal(renderPreviewNote({}, { stack: "dev", jobUrl: "https://gitlab.example.com/j/2" }), note);
  });

  it("names the file and says what went wrong when the preview output is not Pulumi's JSON", () => {
    assert.throws(
      () => parsePreview("", "p.json"),
      /p\.json: expected the output of `pulumi preview --json`, but it is empty/,
    );
    assert.throws(() => parsePreview("error: no stack named 'dev' found", "p.json"), /it is not JSON/);
    assert.throws(() => parsePreview("", "p.json"), /Fix: read pulumi's own error above in the job log/);
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

describe("gitlab-eks ci drift: when the drift is gone", function () {
  this.timeout(processTimeout(4));
  const NO_CHANGES = fixtureText("preview-no-changes.json");
  let fake: FakeGitlab;
  let projectId: number;
  let token: string;
  let botId: number;

  before(async () => {
    ({ fake, botId, projectId, token } = await consumerWorld());
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
    assert.equal(r.stdout, "stack dev: no drift (3 resources unchanged).\n");
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
    // A preview with error diagnostics is a failed preview: the job fails, drift is unknown.
    assert.equal(errored.code, 1, errored.stderr);
    assert.match(errored.stderr, /Drift is unknown, so no drift issue was opened or changed/);
    assert.equal(fake.requests.length, 0, "GitLab is not even asked");
    assert.equal(open.state, "opened");
    const bad = await drift(["--pulumi-status", "oops"], { GITLAB_EKS_TOKEN: token });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^--pulumi-status: is "oops"/);
  });
});

describe("gitlab-eks ci: a failed preview in the job log, the widget report and the MR note", function () {
  this.timeout(processTimeout(6));
  const withFixtures = (extra: Record<string, string> = {}) => {
    const files: Record<string, string> = { ...PROJECT, ...extra };
    for (const name of PREVIEWS) files[name] = fixtureText(name);
    return consumer(files);
  };
  const preview = (dir: string, file: string, extra: string[] = []) =>
    cli(["ci", "preview", "--stack", "dev", "--json", file, "--report", "r.json", ...extra], {
      cwd: dir,
      env: noCi,
    });
  const report = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "r.json"), "utf8")) as object;

  it("a whole plan but a failing exit status (a policy violation, left out of --json) is flagged, not hidden", () => {
    const dir = withFixtures();
    const r = preview(dir, "preview-every-operation.json", ["--pulumi-status", "255"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stack dev: 1 to create, 2 to update/);
    assert.match(
      r.stderr,
      /^warning: `pulumi preview` exited with status 255, though its `--json` output is a whole plan/m,
    );
    assert.deepEqual(report(dir), { create: 2, update: 2, delete: 2 });
    // --expect-no-changes with changes is why pulumi failed: nothing to flag. The real CLI exits 7 for it
    // (v3.248.0, test/fixtures/pulumi-captured/index.json), CLIs before the exit-code taxonomy 255.
    for (const status of ["7", "255"]) {
      const expected = preview(dir, "preview-every-operation.json", [
        "--pulumi-status",
        status,
        "--expect-no-changes",
      ]);
      assert.equal(expected.code, 0, expected.stderr);
      assert.ok(!expected.stderr.includes("warning"), expected.stderr);
    }
    // Any other status is not what --expect-no-changes gives: flagged even under it.
    const other = preview(dir, "preview-every-operation.json", [
      "--pulumi-status",
      "1",
      "--expect-no-changes",
    ]);
    assert.match(
      other.stderr,
      /^warning: `pulumi preview` exited with status 1, though its `--json` output/m,
    );
    const bad = preview(dir, "preview-every-operation.json", ["--pulumi-status", "x"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^--pulumi-status: is "x"/);
  });

  it("the real CLI's error messages, which start with `error: ` already, are labelled once", () => {
    const captured = path.join(ROOT, "test", "fixtures", "pulumi-captured", "preview-program-error.json");
    const digest = parsePreview(fs.readFileSync(captured, "utf8"), captured);
    const gate = /error: pulumi-nodejs:dynamic\/real-consumer:Gate resource 'gate': property fail/;
    const lines = diagnosticLines(digest.diagnostics ?? []);
    assert.ok(
      lines.some((l) => gate.test(l)),
      lines.join("\n"),
    );
    const note = renderPreviewNote(digest, { stack: "dev" });
    assert.match(note, gate);
    assert.ok(!/error: error:/.test(note) && !lines.some((l) => l.includes("error: error:")), note);
    // A message without the label gets it.
    assert.deepEqual(diagnosticLines([{ severity: "warning", message: "careful\n" }]), ["warning: careful"]);
  });

  it("the note shows that warning under the summary", () => {
    const note = renderPreviewNote(fixture("preview-every-operation.json"), {
      stack: "dev",
      warning: "exited with 255",
    });
    assert.match(note, /\| 1 \| 2 \| 1 \| 1 \| 41 \|\n\n> \*\*Warning:\*\* exited with 255\n/);
  });

  it("a program error: pulumi's errors in the log (plain), a failed widget report, exit 1", () => {
    const dir = withFixtures();
    const r = preview(dir, "preview-program-error.json");
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^stack dev: preview failed; pulumi reported:$/m);
    assert.match(
      r.stderr,
      /^error: pulumi-nodejs:dynamic\/real-consumer:Gate resource 'gate': property fail value \{true\} has a problem: the gate is closed/m,
    );
    assert.match(
      r.stderr,
      /^stack dev: pulumi preview failed with 1 error \(above\)\. Fix: correct what it says \(the program, or the stack's configuration\), then run the job again\.$/m,
    );
    assert.ok(!r.stderr.includes("\u001b"), "ANSI escapes are stripped");
    assert.ok(!/^\s+at /m.test(r.stderr), "no stack trace of the helper");
    assert.ok(!("create" in report(dir)), "GitLab shows a report without counts as failed");
    assert.match(r.stdout, /merge request widget report: r\.json \(marks this job's report as failed\)/);
  });

  it("empty output and `{}`: says pulumi printed no preview and where its error is, no stack trace, exit 1", () => {
    const dir = withFixtures();
    const empty = preview(dir, "preview-no-stack.json");
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /^stack dev: preview failed before planning: pulumi printed no preview\.$/m);
    assert.equal(
      empty.stderr,
      "--json: preview-no-stack.json: expected the output of `pulumi preview --json`, but it is empty. Did pulumi fail before printing it? Fix: read pulumi's own error above in the job log (for example a missing stack, the backend or its credentials, or invalid configuration).\n",
    );
    assert.ok(!("create" in report(dir)));
    const nothing = preview(dir, "preview-before-planning.json");
    assert.equal(nothing.code, 1);
    assert.equal(
      nothing.stderr,
      "--json: preview-before-planning.json: `pulumi preview --json` printed just `{}`: it stopped before planning. Fix: read pulumi's own error above in the job log (for example a missing stack, the backend or its credentials, or invalid configuration).\n",
    );
    assert.ok(!("create" in report(dir)));
    const ok = preview(dir, "preview-every-operation.json");
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(report(dir), { create: 2, update: 2, delete: 2 });
  });

  it('drift: a failed preview is not "no drift": it fails and leaves the drift issue alone', () => {
    const dir = withFixtures();
    for (const [file, pattern] of [
      [
        "preview-program-error.json",
        /^stack dev: pulumi preview failed with 1 error \(above\)\. Drift is unknown, so no drift issue was opened or changed\. Fix: /m,
      ],
      [
        "preview-before-planning.json",
        /^--json: preview-before-planning\.json: `pulumi preview --json` printed just `\{\}`: it stopped before planning\. Drift is unknown, so no drift issue was opened or changed\. Fix: /m,
      ],
      [
        "preview-no-stack.json",
        /^--json: preview-no-stack\.json: expected the output of `pulumi preview --json`, but it is empty\./m,
      ],
    ] as const) {
      const r = cli(["ci", "drift", "--stack", "dev", "--json", file], { cwd: dir, env: noCi });
      assert.equal(r.code, 1, file);
      assert.match(r.stderr, pattern);
      assert.ok(!r.stdout.includes("no drift"), file);
    }
  });

  it("posts ONE note and edits it in place through success, program error, empty output, `{}` and success again, never leaking a token", async () => {
    const {
      fake,
      token,
      projectId,
      mrIid: iid,
    } = await consumerWorld({
      token: "plain-shaped-token-0123456789",
    });
    try {
      // A program error whose output carries the job's token: it must reach neither the log nor the note.
      const leaky = fixture("preview-program-error.json");
      leaky.diagnostics?.push({
        message: `\u001b[31mcalling GitLab with ${token}\u001b[39m`,
        severity: "info#err",
      });
      const dir = withFixtures({ "leaky.json": JSON.stringify(leaky, null, 4) });
      const env = {
        ...noCi,
        CI_SERVER_URL: fake.url,
        CI_API_V4_URL: `${fake.url}/api/v4`,
        CI_PROJECT_ID: String(projectId),
        CI_MERGE_REQUEST_IID: String(iid),
        CI_JOB_URL: `${fake.url}/platform/infra-live/-/jobs/7`,
        GITLAB_EKS_TOKEN: token,
      };
      const bodies: string[] = [];
      const outputs: string[] = [];
      for (const file of [
        "preview-every-operation.json",
        "leaky.json",
        "preview-no-stack.json",
        "preview-before-planning.json",
        "preview-every-operation.json",
      ]) {
        const r = await cliAsync(["ci", "preview", "--stack", "dev", "--json", file, "--note"], {
          cwd: dir,
          env,
        });
        outputs.push(r.stdout + r.stderr);
        assert.equal(r.code, file === "preview-every-operation.json" ? 0 : 1, `${file}: ${r.stderr}`);
        const notes = fake.state.notes.filter((n) => n.noteableIid === iid && !n.system);
        assert.equal(notes.length, 1, `${file}: one note`);
        bodies.push(notes[0].body);
      }
      assert.match(outputs[0], /MR note created on !1/);
      assert.match(outputs[1], /MR note updated on !1/);
      assert.match(outputs[2], /MR note updated on !1/);
      assert.match(outputs[3], /MR note unchanged on !1/, "empty output and `{}` give the same note");
      assert.match(outputs[4], /MR note updated on !1/);
      assert.deepEqual(
        fake.mutatingRequests({ pathPattern: /\/notes/ }).map((q) => `${q.method} ${q.status}`),
        ["POST 201", "PUT 200", "PUT 200", "PUT 200"],
      );
      assert.match(bodies[0], /^#### Pulumi preview for stack `dev`: 1 to create/m);
      assert.match(bodies[1], /^#### Pulumi preview for stack `dev` failed: 1 error$/m);
      assert.match(bodies[1], /^program stderr: calling GitLab with \[secret\]$/m);
      assert.match(bodies[2], /^#### Pulumi preview for stack `dev` failed before planning$/m);
      assert.match(
        bodies[2],
        /Pulumi's own error is in the \[job log\]\(http:\/\/127\.0\.0\.1:\d+\/platform\/infra-live\/-\/jobs\/7\)/,
      );
      assert.equal(bodies[4], bodies[0]);
      for (const text of [...bodies, ...outputs])
        assert.ok(!text.includes(token) && !text.includes("\u001b"));
    } finally {
      await fake.close();
    }
  });
});

describe("gitlab-eks ci: markers carry the Pulumi project and the stack; an old marker's note or issue is taken over", function () {
  this.timeout(processTimeout(6));
  let fake: FakeGitlab;
  let projectId: number;
  let botId: number;
  let token: string;
  let mrIid: number;
  const NEW = (kind: string, stack = "dev") =>
    `<!-- gitlab-eks:${kind} project=infra-live stack=${stack} dir=. -->`;
  const OLD = (kind: string, stack = "dev") => `<!-- gitlab-eks:${kind} stack=${stack} dir=. -->`;
  const OTHER_PROJECT = (kind: string) => `<!-- gitlab-eks:${kind} project=other-infra stack=dev dir=. -->`;

  beforeEach(async () => {
    ({ fake, botId, projectId, token, mrIid } = await consumerWorld());
  });
  afterEach(async () => {
    await fake?.close();
  });

  const env = () => ({
    ...noCi,
    CI_SERVER_URL: fake.url,
    CI_PROJECT_ID: String(projectId),
    CI_MERGE_REQUEST_IID: String(mrIid),
    GITLAB_EKS_TOKEN: token,
  });

  it("the marker names the project (from Pulumi.yaml), the stack and the folder; the old form is looked for after it", () => {
    assert.equal(
      marker("drift", "dev", "infra", "infra-live"),
      "<!-- gitlab-eks:drift project=infra-live stack=dev dir=infra -->",
    );
    assert.deepEqual(markers("preview", "acme/infra/dev", ".", "a b"), [
      "<!-- gitlab-eks:preview project=a%20b stack=acme%2Finfra%2Fdev dir=. -->",
      "<!-- gitlab-eks:preview stack=acme%2Finfra%2Fdev dir=. -->",
    ]);
    assert.deepEqual(
      markers("preview", "dev"),
      [OLD("preview")],
      "no Pulumi.yaml to read: the old form only",
    );
  });

  it("a re-run after upgrading edits the note the old helper wrote; other projects' and stacks' notes are left alone", async () => {
    const note = (body: string) =>
      fake.addNote({ projectId, noteableType: "MergeRequest", noteableIid: mrIid, body, authorId: botId });
    const old = note(`${OLD("preview")}\nold plan`);
    const other = note(`${OTHER_PROJECT("preview")}\nanother project's plan`);
    const staging = note(`${OLD("preview", "staging")}\nstaging's plan`);
    const dir = consumer({ ...PROJECT, "p.json": fixtureText("preview-every-operation.json") });
    fake.clearRequests();
    const r = await cliAsync(["ci", "preview", "--stack", "dev", "--json", "p.json", "--note"], {
      cwd: dir,
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`MR note updated on !${mrIid} \\(note ${old.id}\\)`));
    assert.deepEqual(
      fake.mutatingRequests().map((q) => `${q.method} ${q.path.split("/").pop()}`),
      [`PUT ${old.id}`],
      "the old note edited, no second note",
    );
    assert.ok(old.body.startsWith(`${NEW("preview")}\n#### Pulumi preview for stack \`dev\``), old.body);
    assert.deepEqual(
      [other.body, staging.body],
      [`${OTHER_PROJECT("preview")}\nanother project's plan`, `${OLD("preview", "staging")}\nstaging's plan`],
    );
    fake.clearRequests();
    const again = await cliAsync(["ci", "preview", "--stack", "dev", "--json", "p.json", "--note"], {
      cwd: dir,
      env: env(),
    });
    assert.match(again.stdout, new RegExp(`MR note unchanged on !${mrIid} \\(note ${old.id}\\)`));
    assert.deepEqual(fake.mutatingRequests(), []);
    assert.equal(fake.state.notes.filter((n) => !n.system).length, 3);
  });

  it("drift edits, then closes, the issue the old helper opened; another project's issue of the same stack is never touched", async () => {
    const issue = (description: string) =>
      fake.addIssue({
        projectId,
        authorId: botId,
        title: "Drift",
        description,
        labels: ["pulumi-drift"],
        state: "opened",
      });
    const old = issue(`${OLD("drift")}\nold drift`);
    const other = issue(`${OTHER_PROJECT("drift")}\nanother project's drift`);
    const drift = (json: string) =>
      cliAsync(["ci", "drift", "--stack", "dev", "--json", "p.json"], {
        cwd: consumer({ ...PROJECT, "p.json": json }),
        env: env(),
      });
    const drifted = await drift(fixtureText("preview-every-operation.json"));
    assert.equal(drifted.code, 1, drifted.stderr);
    assert.match(drifted.stderr, new RegExp(`drift issue #${old.iid} updated`));
    assert.equal(fake.state.issues.length, 2, "no second issue");
    assert.ok(old.description?.startsWith(`${NEW("drift")}\n`), String(old.description));
    const gone = await drift(fixtureText("preview-no-changes.json"));
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, new RegExp(`drift issue #${old.iid} closed`));
    assert.deepEqual([old.state, other.state], ["closed", "opened"]);
    assert.equal(other.description, `${OTHER_PROJECT("drift")}\nanother project's drift`);
    const none = await drift(fixtureText("preview-no-changes.json"));
    assert.match(none.stdout, /no open drift issue for stack dev: nothing to close/);
    assert.equal(other.state, "opened");
  });
});
