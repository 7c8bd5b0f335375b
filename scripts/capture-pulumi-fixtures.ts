/**
 * Runs the REAL Pulumi CLI (scripts/pulumi-cli) on the fixture consumer program
 * (test/fixtures/real-consumer) and writes what it prints, normalised, to test/fixtures/pulumi-captured/:
 *
 *   node dist/scripts/capture-pulumi-fixtures.js [OUT_DIR]
 *
 * The sequence is a consumer's life under the CI component: a first preview (changes), up, a preview with
 * no changes, the stack's outputs, a config change (update), a change made outside the program (drift,
 * seen by `preview --refresh --expect-no-changes`), a failing program, a preview of a stack that does not
 * exist (nothing printed), and destroy. index.json lists each
 * capture with the command and its exit code. test/real-engine-captures.test.ts regenerates them and fails
 * when they differ from the committed ones.
 *
 * Normalisation (what would differ between machines or runs, nothing else):
 *   - the run's temp folder is written `<tmp>`; `duration`, `durationSeconds` and `timestamp` are 0; the ids
 *     the engine draws for default providers (UUIDs) are 00000000-0000-4000-8000-000000000000, while
 *     Pulumi's "unknown" value 04da6b54-80e4-46f7-96ec-b56ff0331ba9 stays;
 *   - `sourcePosition` and `stackTrace` of each resource are removed: they name files on the capturing
 *     machine and the frames of the program's host;
 *   - JSON is printed as Pulumi prints it (Go's json.MarshalIndent: 4 spaces, < > & as \u003c \u003e \u0026).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { realStack, repoRoot, type RunResult } from "../test/support/real-pulumi";

export const capturedDir = path.join(repoRoot, "test", "fixtures", "pulumi-captured");
const fixture = path.join(repoRoot, "test", "fixtures", "real-consumer");
const program = path.join(repoRoot, "dist", "test", "fixtures", "real-consumer", "index.js");

interface Capture {
  file: string;
  command: string;
  exitCode: number;
}

/** Pulumi's layout for a JSON value (see the file comment). */
export function goJson(value: unknown, indent = 4): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Pulumi's value for "unknown until up"; other UUIDs are the ids the engine gives default providers. */
const unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const stableId = "00000000-0000-4000-8000-000000000000";
const uuid = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const zeroed = new Set(["duration", "durationSeconds", "timestamp"]);

function normalise(value: unknown, tmp: string): unknown {
  if (typeof value === "string") {
    return value
      .split(tmp)
      .join("<tmp>")
      .replace(uuid, (u) => (u === unknownValue ? u : stableId));
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, tmp));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "sourcePosition" || k === "stackTrace") continue;
      out[k] = zeroed.has(k) && typeof v === "number" ? 0 : normalise(v, tmp);
    }
    return out;
  }
  return value;
}

/**
 * `preview --json` prints one digest; `up`, `refresh` and `destroy --json` print the preview's digest and then
 * the engine's events, one JSON object a line (sequence numbers are renumbered after the SDK's debug
 * diagnostics, which are left out: their interleaving with the engine's events varies between runs).
 */
function normaliseOutput(stdout: string, tmp: string): string {
  const digestEnd = stdout.indexOf("\n}\n");
  const digest = digestEnd < 0 ? stdout : stdout.slice(0, digestEnd + 2);
  const parts = [goJson(normalise(JSON.parse(digest), tmp))];
  if (digestEnd >= 0) {
    let sequence = 0;
    for (const line of stdout.slice(digestEnd + 3).split("\n")) {
      if (line.trim() === "") continue;
      const event = JSON.parse(line) as { sequence?: number; diagnosticEvent?: { severity?: string } };
      if (event.diagnosticEvent?.severity === "debug") continue;
      event.sequence = sequence++;
      parts.push(JSON.stringify(normalise(event, tmp)));
    }
  }
  return parts.join("\n");
}

/** Runs the sequence and writes the captures into `outDir` (created); returns the index. */
export async function capturePulumiFixtures(outDir: string): Promise<Capture[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const stack = await realStack({
    projectFile: path.join(fixture, "Pulumi.yaml"),
    program,
    stack: "dev",
    config: { recordDir: "RECORD_DIR" },
    secretConfig: { apiKey: "fixture-api-key-value" },
  });
  const tmp = path.dirname(stack.dir);
  const recordDir = path.join(tmp, "record");
  fs.mkdirSync(recordDir);
  const index: Capture[] = [];
  const ok = (r: RunResult, what: string) => {
    if (r.code !== 0) throw new Error(`pulumi ${what} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  };
  ok(await stack.cli(["config", "set", "recordDir", recordDir, "--stack", "dev"]), "config set");
  const capture = async (file: string, args: string[], hosted = true) => {
    const r = hosted ? await stack.run(args) : await stack.cli([...args, "--stack", "dev"]);
    if (r.stdout.trim() === "") throw new Error(`pulumi ${args.join(" ")} printed nothing:\n${r.stderr}`);
    const text = hosted ? normaliseOutput(r.stdout, tmp) : goJson(normalise(JSON.parse(r.stdout), tmp), 2);
    fs.writeFileSync(path.join(outDir, file), `${text}\n`);
    index.push({ file, command: `pulumi ${args.join(" ")}`, exitCode: r.code });
    return r;
  };
  const set = async (key: string, value: string) =>
    ok(await stack.cli(["config", "set", key, value, "--stack", "dev"]), `config set ${key}`);

  await capture("preview-changes.json", ["preview", "--json"]);
  ok(await capture("up.json", ["up", "--yes", "--json"]), "up");
  await capture("preview-no-changes.json", ["preview", "--json"]);
  await capture("stack-outputs.json", ["stack", "output", "--json"], false);
  await set("message", "hello again");
  await capture("preview-update.json", ["preview", "--json"]);
  ok(await capture("up-update.json", ["up", "--yes", "--json"]), "up");
  fs.writeFileSync(path.join(recordDir, "record.txt"), "changed outside Pulumi");
  await capture("preview-drift.json", ["preview", "--refresh", "--expect-no-changes", "--json"]);
  ok(await capture("refresh-drift.json", ["refresh", "--yes", "--json"]), "refresh");
  await set("fail", "true");
  await capture("preview-program-error.json", ["preview", "--json"]);
  ok(await stack.cli(["config", "rm", "fail", "--stack", "dev"]), "config rm fail");
  // A stack that does not exist: the CLI stops before planning, prints nothing on stdout (its error is on
  // stderr) and exits 6 (stack not found).
  const noStack = ["preview", "--json", "--stack", "missing"];
  const missing = await stack.cli(noStack);
  if (missing.stdout !== "")
    throw new Error(`pulumi ${noStack.join(" ")} printed a preview:\n${missing.stdout}`);
  fs.writeFileSync(path.join(outDir, "preview-no-stack.json"), "");
  index.push({
    file: "preview-no-stack.json",
    command: `pulumi ${noStack.join(" ")}`,
    exitCode: missing.code,
  });
  ok(await capture("destroy.json", ["destroy", "--yes", "--json"]), "destroy");
  fs.writeFileSync(path.join(outDir, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
  stack.dispose();
  return index;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? capturedDir);
  capturePulumiFixtures(out).then(
    (index) => console.log(`wrote ${index.length} captures to ${out}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}

/**
 * A capture's content with the order of refresh steps and engine events set aside: resources are read in
 * parallel during a refresh, so the order of their steps and events varies from run to run, nothing else.
 */
export function canonicalCapture(text: string): string {
  if (text === "") return text;
  const sortSteps = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortSteps);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] =
          k === "steps" && Array.isArray(x)
            ? x.map(sortSteps).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
            : sortSteps(x);
      }
      return out;
    }
    return v;
  };
  const end = text.indexOf("\n}\n");
  const head = end < 0 ? text : text.slice(0, end + 2);
  const events =
    end < 0
      ? []
      : text
          .slice(end + 3)
          .split("\n")
          .filter((l) => l.trim() !== "");
  return [
    JSON.stringify(sortSteps(JSON.parse(head)), null, 2),
    ...events
      .map((l) => {
        const { sequence: _sequence, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify(rest);
      })
      .sort(),
  ].join("\n");
}
