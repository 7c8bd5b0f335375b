/**
 * How the helper reaches a job in ANOTHER project: the release job publishes `scripts/pack-helper`'s
 * tarball to the component project's generic package registry, and every component job downloads the
 * version named by helper_version with its CI_JOB_TOKEN and installs it (inputs helper_project,
 * helper_version). Here the registry is a local HTTP server answering GitLab's generic-package download
 * route, npm installs the tarball with an EMPTY cache and --offline (its dependencies are bundled in it, so
 * a job reads nothing from the npm registry), and nothing else puts `gitlab-eks` on PATH.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./support/cli";
import { consumerRepo, gcl, gclTimeout, type RunResult } from "./support/gcl";

const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
const JOB_TOKEN = "glcbt-64_registry-job-token-for-tests";

describe("helper from the component project's package registry (gitlab-ci-local)", function () {
  this.timeout(gclTimeout(2));
  let server: http.Server;
  const seen: { url: string; jobToken: boolean }[] = [];
  let result: RunResult;
  let repoDir: string;
  let packDir: string | undefined;
  let emptyCache: string | undefined;

  before(async () => {
    const out = (packDir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-pack-")));
    const pack = spawnSync(path.join(ROOT, "scripts", "pack-helper"), [VERSION, out], { encoding: "utf8" });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = fs.readFileSync(pack.stdout.trim());
    const route = `/api/v4/projects/platform%2Fgitlab-eks/packages/generic/gitlab-eks/${VERSION}/gitlab-eks-${VERSION}.tgz`;
    server = http.createServer((req, res) => {
      const ok = req.headers["job-token"] === JOB_TOKEN;
      seen.push({ url: req.url ?? "", jobToken: ok });
      if (!ok)
        return void res
          .writeHead(401, { "content-type": "application/json" })
          .end('{"message":"401 Unauthorized"}');
      if (req.url !== route)
        return void res
          .writeHead(404, { "content-type": "application/json" })
          .end('{"message":"404 Not Found"}');
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(tarball);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };

    const repo = consumerRepo("consumer-registry", { helperOnPath: false });
    repoDir = repo.dir;
    const npmCache = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-empty-npm-cache-"));
    emptyCache = npmCache;
    result = await gcl(
      repo,
      ["--force-shell-executor", "preview"],
      {
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
        CI_MERGE_REQUEST_IID: "7",
        CI_COMMIT_BRANCH: "",
        CI_API_V4_URL: `http://127.0.0.1:${port}/api/v4`,
        CI_JOB_TOKEN: JOB_TOKEN,
        PULUMI_BACKEND_URL: "s3://pulumi-state-fixture/registry",
      },
      { npm_config_cache: npmCache, npm_config_offline: "true" },
    );
  });

  after(async () => {
    if (packDir) fs.rmSync(packDir, { recursive: true, force: true });
    if (emptyCache) fs.rmSync(emptyCache, { recursive: true, force: true });
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("downloads the pinned version once, with the job token, and runs the preview with it", () => {
    const log = result.stdout + result.stderr;
    assert.equal(result.code, 0, log);
    assert.deepEqual(seen, [
      {
        url: `/api/v4/projects/platform%2Fgitlab-eks/packages/generic/gitlab-eks/${VERSION}/gitlab-eks-${VERSION}.tgz`,
        jobToken: true,
      },
    ]);
    assert.ok(fs.existsSync(path.join(repoDir, ".gitlab-eks", "bin", "gitlab-eks")));
    assert.match(log, /stack dev: 3 to create, 0 to update, 0 to replace, 0 to delete/);
    assert.match(log, /no MR note posted/);
    assert.ok(!log.includes(JOB_TOKEN));
  });

  it("the packed helper leaves out the Pulumi program and its @pulumi/* dependencies", () => {
    const installed = path.join(repoDir, ".gitlab-eks", "lib", "node_modules", "gitlab-eks");
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    assert.deepEqual(
      Object.keys(pkg.dependencies).filter((d) => d.startsWith("@pulumi/")),
      [],
    );
    assert.ok(!fs.existsSync(path.join(installed, "dist", "infra", "cloud")));
  });

  // The install above ran --offline on an empty cache: any registry read would have failed it (ENOTCACHED).
  it("bundles every runtime dependency in the tarball", () => {
    const installed = path.join(repoDir, ".gitlab-eks", "lib", "node_modules", "gitlab-eks");
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    assert.deepEqual([...pkg.bundleDependencies].sort(), Object.keys(pkg.dependencies).sort());
    for (const dep of [...Object.keys(pkg.dependencies), "qs", "xcase"])
      assert.ok(fs.existsSync(path.join(installed, "node_modules", dep, "package.json")), dep);
  });
});

describe("scripts/pack-helper", () => {
  it("refuses a version that is not package.json's (a tag must release the helper its templates pin)", () => {
    const r = spawnSync(path.join(ROOT, "scripts", "pack-helper"), ["9.9.9", os.tmpdir()], {
      encoding: "utf8",
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /version 9\.9\.9 is not package\.json's version/);
  });
});
