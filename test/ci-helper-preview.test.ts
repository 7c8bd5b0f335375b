/**
 * `gitlab-eks ci ...` without gitlab-ci-local, the pure parts: reading Pulumi's preview (counts, the widget
 * report, masking, the MR note) from the fixtures. Bad input, failed previews, drift issues and note markers
 * are in the other test/ci-helper-*.test.ts files.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
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
import { diagnosticLines, MAX_DIFF_CHARS, renderPreviewNote, stepLines } from "../infra/ci/render";
import { CAPTURED, DIGESTS, fixture, fixtureText, PAT_SHAPED } from "./support/ci-fixtures";

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
