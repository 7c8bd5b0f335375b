/** `gitlab-eks doctor` as a user runs it: a child process against the fake GitLab. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cliAsync as cli, projectDir } from "./support/cli";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

describe("gitlab-eks doctor", async () => {
  let w: GitlabWorld;
  let dir: string;
  const stack = (agent = "") => `
config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: URL
    agentProject: platform/clusters
${agent}`;

  before(async () => {
    w = await gitlabWorld({
      instance: { version: "18.5.1-ee", kas: { version: "18.5.1", externalUrl: "wss://kas.example.com" } },
    });
    dir = projectDir({ dev: stack().replace("URL", w.fake.url) });
  });
  after(() => w.fake.close());

  it("prints one ok line per check and exits 0 when everything fits", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], `GitLab ${w.fake.url}, token from GITLAB_TOKEN`);
    for (const name of [
      "token",
      "reachable",
      "token valid",
      "token scopes",
      "role on agent project",
      "KAS",
      "agent version",
    ])
      assert.ok(
        lines.some((l) => l.startsWith(`ok    ${name}: `)),
        `${name} in:\n${r.stdout}`,
      );
    assert.match(r.stdout, /ok {4}role on agent project: Maintainer on platform\/clusters/);
    assert.match(r.stdout, /ok {4}KAS: enabled at wss:\/\/kas\.example\.com \(from \/metadata\)/);
    assert.match(r.stdout, /ok {4}agent version: v18\.5\.1/);
    assert.equal(lines[lines.length - 1], "all checks passed");
    assert.ok(!r.stdout.includes(w.maintainerToken));
  });

  it("fails, naming the missing scope", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.readOnlyToken } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}token scopes: scopes: read_api; the agent APIs need the api scope/);
  });

  it("fails, naming the missing role", async () => {
    const r = await cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.developerToken } });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /FAIL {2}role on agent project: Developer on platform\/clusters; .*needs Maintainer/,
    );
    assert.match(r.stdout, /1 check failed$/m);
  });

  it("fails on an invalid token and on a job token alone", async () => {
    let r = await cli(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: "glpat-wrong" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}token valid: .*401 Unauthorized/);
    r = await cli(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: "", CI_JOB_TOKEN: w.jobToken },
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}token: .*Only CI_JOB_TOKEN is available/);
    assert.ok(!r.stdout.includes(w.jobToken));
  });

  it("fails on a pinned version outside GitLab's skew, saying which fit", async () => {
    const d = projectDir({
      dev: stack("  gitlab-eks:agent:\n    imageTag: v18.1.0\n").replace("URL", w.fake.url),
    });
    const r = await cli(["doctor", "--stack", "dev"], { cwd: d, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}agent version: .*use v18\.4\.x, v18\.5\.x, v18\.6\.x/);
  });

  it("fails when GitLab cannot be reached", async () => {
    const d = projectDir({ dev: stack().replace("URL", "http://127.0.0.1:9") });
    const r = await cli(["doctor", "--stack", "dev"], { cwd: d, env: { GITLAB_TOKEN: w.maintainerToken } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}reachable: cannot reach http:\/\/127\.0\.0\.1:9/);
    fs.rmSync(path.join(d), { recursive: true, force: true });
  });
});
