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
  UNKNOWN_VALUE,
  type PreviewDigest,
} from "../infra/ci/preview";
import { MAX_DIFF_CHARS, renderPreviewNote } from "../infra/ci/render";
import { cli, ROOT } from "./support/cli";

const FIXTURES = path.join(ROOT, "test", "fixtures", "pulumi");
const fixtureText = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");
const fixture = (name: string) => parsePreview(fixtureText(name), name);
const PREVIEWS = fs.readdirSync(FIXTURES).filter((f) => f.startsWith("preview-"));
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
    assert.ok(DIGESTS.length >= 4, DIGESTS.join(", "));
    for (const name of DIGESTS) {
      const text = fixtureText(name);
      const d = JSON.parse(text) as PreviewDigest;
      assert.equal(text, goJson(d, "    "), `${name} is not laid out as json.MarshalIndent(v, "", "    ")`);
      inOrder(d, ["config", "steps", "diagnostics", "duration", "changeSummary", "maybeCorrupt"], name);
      if (d.config) sorted(d.config);
      if (d.duration !== undefined) assert.ok(Number.isInteger(d.duration) && d.duration > 0, name);
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
              ["urn", "custom", "id", "type", "inputs", "outputs", "parent", "dependencies", "provider"],
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
    assert.equal(fixtureText("preview-empty.json"), "");
    assert.ok(fixtureText("preview-changes.json").includes(`"value": "${UNKNOWN_VALUE}"`));
  });

  it("a value unknown until up, the bridge's __defaults and assets are shown as a reviewer reads them", () => {
    const note = renderPreviewNote(fixture("preview-changes.json"), { stack: "dev" });
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
});
