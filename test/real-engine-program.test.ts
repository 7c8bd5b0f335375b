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
import { expectOk, realStack, repoRoot, type RealStack } from "./support/real-pulumi";

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

describe("real engine: the main program's start for each example stack", function () {
  this.timeout(0); // real CLI runs on a shared machine: no limit a loaded machine could miss

  for (const name of stacks) {
    describe(`stack ${name}`, () => {
      let stack: RealStack;
      before(async () => {
        stack = await exampleStack(name);
      });
      after(() => stack?.dispose());

      it("the offline reader sees the configuration `pulumi config --json` shows", async () => {
        const shown = JSON.parse(
          expectOk(await stack.cli(["config", "--json", "--stack", name]), "pulumi config --json").stdout,
        ) as Record<string, { value?: string; objectValue?: unknown; secret: boolean }>;
        const pulumiView = Object.fromEntries(Object.entries(shown).map(([k, e]) => [k, programValue(e)]));
        assert.ok(Object.keys(pulumiView).length > 3, "the example stack has configuration");
        assert.deepEqual(readStackFiles(repoRoot, name).values, pulumiView);
      });

      it("a valid configuration passes validation and stops only at the missing AWS provider plugin", async () => {
        const r = await stack.run(["preview"]);
        const out = r.stdout + r.stderr;
        assert.notEqual(r.code, 0, "offline, without provider plugins, the preview cannot finish");
        assert.doesNotMatch(out, /configuration problem/);
        assert.match(out, /no resource plugin 'pulumi-resource-aws' found/);
        assert.match(out, /pulumi:providers:aws/);
        assert.doesNotMatch(out, noStackTrace);
      });

      it("a broken configuration gives Pulumi's error with every key and its fix, and no stack trace", async () => {
        const broken = await exampleStack(name);
        for (const [key, value] of [
          ["gitlab-eks:cluster.vpcCidr", "banana"],
          ["gitlab-eks:systemPool.minSize", "50"],
        ]) {
          expectOk(await broken.cli(["config", "set", "--path", "--stack", name, key, value]), `set ${key}`);
        }
        const r = await broken.run(["preview"]);
        broken.dispose();
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
