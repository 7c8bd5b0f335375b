/**
 * The captures in test/fixtures/pulumi-captured/ are what the REAL Pulumi CLI prints for the fixture
 * consumer program (test/fixtures/real-consumer): this test regenerates them with the real CLI
 * (scripts/pulumi-cli) and fails when they differ from the committed ones. Update them with
 * `npm run build && node dist/scripts/capture-pulumi-fixtures.js`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { canonicalCapture, capturedDir, capturePulumiFixtures } from "../scripts/capture-pulumi-fixtures";
import { pinnedPulumiVersion, pulumiCli, type PulumiCli } from "./support/real-pulumi";

interface Capture {
  file: string;
  command: string;
  exitCode: number;
}

const committed = (file: string) => fs.readFileSync(path.join(capturedDir, file), "utf8");
const committedIndex = () => JSON.parse(committed("index.json")) as Capture[];

describe("real engine: captured output of the real Pulumi CLI", function () {
  // Real CLI runs on a shared machine: no time limit a loaded machine could miss.
  this.timeout(0);
  let cli: PulumiCli;
  before(async () => {
    cli = await pulumiCli();
  });

  it("the committed captures say what the fixture program does", () => {
    const index = committedIndex();
    const exit = (file: string) => index.find((c) => c.file === file)?.exitCode;
    assert.deepEqual(
      index.map((c) => c.file),
      [
        "preview-changes.json",
        "up.json",
        "preview-no-changes.json",
        "stack-outputs.json",
        "preview-update.json",
        "up-update.json",
        "preview-drift.json",
        "refresh-drift.json",
        "preview-program-error.json",
        "preview-no-stack.json",
        "destroy.json",
      ],
    );
    assert.deepEqual(JSON.parse(committed("stack-outputs.json")), {
      apiKey: "[secret]",
      greeting: "hello (5 characters)",
      url: "https://real-consumer.example/dev/5",
    });
    const digest = (file: string) =>
      JSON.parse(committed(file).slice(0, committed(file).indexOf("\n}\n") + 2)) as {
        changeSummary?: Record<string, number>;
        diagnostics?: { message: string; severity: string }[];
      };
    assert.deepEqual(digest("preview-changes.json").changeSummary, { create: 3 });
    assert.deepEqual(digest("preview-no-changes.json").changeSummary, { same: 3 });
    assert.deepEqual(digest("preview-update.json").changeSummary, { same: 2, update: 1 });
    assert.deepEqual(digest("preview-drift.json").changeSummary, { same: 2, update: 1 });
    assert.notEqual(exit("preview-drift.json"), 0, "--expect-no-changes fails on drift");
    assert.notEqual(exit("preview-program-error.json"), 0);
    assert.equal(committed("preview-no-stack.json"), "", "a stack that does not exist: nothing printed");
    assert.equal(exit("preview-no-stack.json"), 6, "v3.248.0's exit code for a missing stack");
    assert.match(
      digest("preview-program-error.json").diagnostics?.find((d) => d.severity === "error")?.message ?? "",
      /the gate is closed \(real-consumer:fail is true\)/,
    );
    for (const c of index) {
      assert.doesNotMatch(committed(c.file), /fixture-api-key-value/, `${c.file} holds the secret`);
    }
  });

  it("regenerating them with the real CLI gives the committed files", async function () {
    if (cli.version !== pinnedPulumiVersion) {
      // Not silent: the reason is printed and the test shows as skipped.
      console.log(
        `      the Pulumi CLI at ${cli.dir} is ${cli.version}, not the pinned ${pinnedPulumiVersion}: ` +
          "its output is not compared with the captures (remove it from PATH to build the pinned one)",
      );
      this.skip();
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-captures-"));
    try {
      const index = await capturePulumiFixtures(out);
      assert.deepEqual(index, committedIndex(), "commands or exit codes differ");
      for (const c of index) {
        const fresh = fs.readFileSync(path.join(out, c.file), "utf8");
        assert.equal(
          canonicalCapture(fresh),
          canonicalCapture(committed(c.file)),
          `${c.file} differs from the real CLI's output: run node dist/scripts/capture-pulumi-fixtures.js`,
        );
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
