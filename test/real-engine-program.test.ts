/**
 * The main program's start under the REAL Pulumi engine, for each example stack (Pulumi.<stack>.yaml at the
 * repository's root), with the configuration read by Pulumi itself:
 *   - a broken configuration stops `pulumi preview` with Pulumi's normal error, naming every bad key and its
 *     fix, and no stack trace;
 *   - a valid one gets past validation: offline, with no provider plugin, the run goes as far as the first
 *     AWS resource, whose provider plugin (pulumi-resource-aws) the engine then cannot find;
 *   - the configuration the CLI's offline reader (infra/config/stackFiles.ts) sees equals what
 *     `pulumi config --json` shows.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { readStackFiles } from "../infra/config/stackFiles";
import { expectOk, realStack, repoRoot, type RealStack, type RunResult } from "./support/real-pulumi";

const stacks = ["dev", "staging", "production"];
const program = path.join(repoRoot, "dist", "infra", "index.js");
const noStackTrace = /^\s+at .+[:(].*\d+:\d+\)?$/m;

function exampleStack(stack: string): Promise<RealStack> {
  return realStack({
    projectFile: path.join(repoRoot, "Pulumi.yaml"),
    program,
    stack,
    stackFile: path.join(repoRoot, `Pulumi.${stack}.yaml`),
    // No GitLab token and no CI: what a user's first preview has.
    env: { GITLAB_TOKEN: "", CI_SERVER_URL: "", CI: "" },
  });
}

/** What the program sees for a value Pulumi hands over (infra/cloud/config.ts parses JSON objects and lists). */
function programValue(entry: { value?: string; objectValue?: unknown; secret: boolean }): unknown {
  if (entry.secret) return "[secret]";
  return entry.objectValue !== undefined ? entry.objectValue : entry.value;
}

/** What each example stack's tests look at: every pulumi run is made once, in the suite's `before`. */
interface StackRuns {
  config: RunResult;
  preview: RunResult;
  brokenSets: [string, RunResult][];
  brokenPreview: RunResult;
}

/** One stack's runs, in order: the valid stack's config and preview, and a broken copy's sets and preview. */
async function stackRuns(name: string): Promise<StackRuns> {
  const runValid = async () => {
    const stack = await exampleStack(name);
    try {
      const config = await stack.cli(["config", "--json", "--stack", name]);
      return { config, preview: await stack.run(["preview"]) };
    } finally {
      stack.dispose();
    }
  };
  const runBroken = async () => {
    const broken = await exampleStack(name);
    try {
      const brokenSets: [string, RunResult][] = [];
      for (const [key, value] of [
        ["gitlab-eks:cluster.vpcCidr", "banana"],
        ["gitlab-eks:systemPool.minSize", "50"],
      ]) {
        brokenSets.push([key, await broken.cli(["config", "set", "--path", "--stack", name, key, value])]);
      }
      return { brokenSets, brokenPreview: await broken.run(["preview"]) };
    } finally {
      broken.dispose();
    }
  };
  // The valid and the broken stack are separate projects (own folder, backend and PULUMI_HOME): they run
  // at the same time, which halves the wall time without changing what each run sees.
  const [valid, broken] = await Promise.all([runValid(), runBroken()]);
  return { ...valid, ...broken };
}

describe("real engine: the main program's start for each example stack", function () {
  this.timeout(0); // real CLI runs on a shared machine: no limit a loaded machine could miss
  const runs: Record<string, StackRuns> = {};
  before(async () => {
    // Independent stacks, each in its own temp project: all at once, asserted test by test below.
    await Promise.all(
      stacks.map(async (name) => {
        runs[name] = await stackRuns(name);
      }),
    );
  });

  for (const name of stacks) {
    describe(`stack ${name}`, () => {
      it("the offline reader sees the configuration `pulumi config --json` shows", () => {
        const shown = JSON.parse(expectOk(runs[name].config, "pulumi config --json").stdout) as Record<
          string,
          { value?: string; objectValue?: unknown; secret: boolean }
        >;
        const pulumiView = Object.fromEntries(Object.entries(shown).map(([k, e]) => [k, programValue(e)]));
        assert.ok(Object.keys(pulumiView).length > 3, "the example stack has configuration");
        assert.deepEqual(readStackFiles(repoRoot, name).values, pulumiView);
      });

      it("a valid configuration passes validation and stops only at the missing AWS provider plugin", () => {
        const r = runs[name].preview;
        const out = r.stdout + r.stderr;
        assert.notEqual(r.code, 0, "offline, without provider plugins, the preview cannot finish");
        assert.doesNotMatch(out, /configuration problem/);
        assert.match(out, /no resource plugin 'pulumi-resource-aws' found/);
        assert.match(out, /pulumi:providers:aws/);
        assert.doesNotMatch(out, noStackTrace);
      });

      it("a broken configuration gives Pulumi's error with every key and its fix, and no stack trace", () => {
        for (const [key, set] of runs[name].brokenSets) expectOk(set, `set ${key}`);
        const r = runs[name].brokenPreview;
        const out = r.stdout + r.stderr;
        assert.notEqual(r.code, 0);
        assert.match(out, new RegExp(`error: Stack "${name}": 2 configuration problems:`));
        assert.match(
          out,
          /gitlab-eks:cluster\.vpcCidr: must be an IPv4 CIDR block[^\n]*Fix: pulumi config set/,
        );
        assert.match(out, /gitlab-eks:systemPool\.minSize: \(50\) is greater than[^\n]*Fix:/);
        assert.match(out, /Nothing was created/);
        assert.doesNotMatch(out, /pulumi-resource-aws/, "nothing past validation ran");
        assert.doesNotMatch(out, noStackTrace);
      });
    });
  }
});
