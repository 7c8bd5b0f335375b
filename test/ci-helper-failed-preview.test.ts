/**
 * `gitlab-eks ci ...`: a failed preview (program error, empty output, a failing status under a whole plan)
 * as the job log, the widget report and the MR note show it (the CLI run as a child process, the MR note
 * against the fake GitLab).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parsePreview } from "../infra/ci/preview";
import { diagnosticLines, renderPreviewNote } from "../infra/ci/render";
import { cli, cliAsync, ROOT } from "./support/cli";
import { processTimeout } from "./support/gcl";
import { consumerWorld } from "./support/gitlab-world";
import { consumer, fixture, fixtureText, noCi, PREVIEWS, PROJECT } from "./support/ci-fixtures";

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
