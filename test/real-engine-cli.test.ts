/**
 * scripts/pulumi-cli: a `pulumi` on PATH is used as it is (nothing built); otherwise the pinned CLI is
 * built once into the cache and reused after.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expectOk, pinnedPulumiVersion, pulumiCli, realStack, repoRoot } from "./support/real-pulumi";

const script = path.join(repoRoot, "scripts", "pulumi-cli");

function run(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(script, { env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("real engine: scripts/pulumi-cli", function () {
  this.timeout(0); // may build the CLI (minutes) on a fresh machine

  it("uses a pulumi found on PATH and builds nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-path-pulumi-"));
    try {
      fs.writeFileSync(path.join(dir, "pulumi"), "#!/bin/sh\necho v3.1.0\n", { mode: 0o755 });
      const cache = path.join(dir, "cache");
      const r = await run({ ...process.env, PATH: `${dir}:${process.env.PATH}`, GITLAB_EKS_CACHE: cache });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), fs.realpathSync(dir));
      assert.equal(r.stderr, "");
      assert.ok(!fs.existsSync(cache), "nothing was built");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("otherwise gives the pinned CLI, the dynamic-provider plugin and the language host, reused on the next call", async () => {
    const cli = await pulumiCli(); // builds when the cache is cold
    if (process.env.PATH?.split(path.delimiter).some((d) => fs.existsSync(path.join(d, "pulumi")))) {
      // A user's own CLI is on PATH: the first test covers that case.
      assert.equal(cli.dir, path.dirname(fs.realpathSync(cli.binary)));
      return;
    }
    assert.equal(cli.version, pinnedPulumiVersion);
    assert.ok(fs.existsSync(path.join(cli.dir, "pulumi-resource-pulumi-nodejs")));
    // The language host is this checkout's script, refreshed when the cached copy differs.
    const host = path.join(cli.dir, "pulumi-language-nodejs");
    assert.equal(
      fs.readFileSync(host, "utf8"),
      fs.readFileSync(path.join(repoRoot, "scripts", "pulumi-language-nodejs"), "utf8"),
    );
    assert.ok((fs.statSync(host).mode & 0o111) !== 0, "executable");
    const again = await run(process.env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), cli.dir);
    assert.equal(again.stderr, "", "reused: nothing built");
  });

  it("the CLI loads the language host: `pulumi about` reports the nodejs plugin, node and the program's dependencies (its nearest package.json: this repository's)", async () => {
    const cli = await pulumiCli();
    const stack = await realStack({
      projectFile: path.join(repoRoot, "test", "fixtures", "real-consumer", "Pulumi.yaml"),
      program: path.join(repoRoot, "dist", "test", "fixtures", "real-consumer", "index.js"),
      stack: "dev",
    });
    try {
      const about = JSON.parse(
        expectOk(await stack.cli(["about", "--json", "--stack", "dev"]), "pulumi about").stdout,
      ) as {
        plugins: { name: string; kind: string; version: string }[];
        runtime: { language: string; executable: string; version: string };
        dependencies: { name: string; version: string }[];
      };
      // This repository's host (next to the built CLI), not a user's own Go one, reports the SDK's version.
      const host = path.join(cli.dir, "pulumi-language-nodejs");
      const ownHost =
        fs.existsSync(host) &&
        fs.readFileSync(host, "utf8") ===
          fs.readFileSync(path.join(repoRoot, "scripts", "pulumi-language-nodejs"), "utf8");
      if (ownHost)
        assert.deepEqual(
          about.plugins.find((p) => p.kind === "language"),
          { name: "nodejs", kind: "language", version: pinnedPulumiVersion.slice(1) },
        );
      assert.equal(about.runtime.language, "nodejs");
      assert.equal(about.runtime.version, process.versions.node);
      assert.deepEqual(
        about.dependencies.find((d) => d.name === "@pulumi/pulumi"),
        { name: "@pulumi/pulumi", version: pinnedPulumiVersion.slice(1) },
      );
    } finally {
      stack.dispose();
    }
  });
});
