/** `gitlab-eks render` and `validate` for the runner, run as a user runs them. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { cli, cliAsync, projectDir } from "./support/cli";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

describe("gitlab-eks render (runner files)", () => {
  for (const stack of ["dev", "staging", "production"]) {
    it(`writes runner-values.yaml, runner-config.toml and the token Secret for ${stack}, with no secret`, () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-runner-"));
      const r = cli(["render", "--stack", stack, "--out", out], {
        env: { GITLAB_TOKEN: "glpat-mustnot" },
      });
      assert.equal(r.code, 0, r.stderr);
      for (const f of ["runner-values.yaml", "runner-config.toml", "runner-token-secret.yaml"])
        assert.match(r.stdout, new RegExp(f.replace(".", "\\.")));
      const values = parseYaml(fs.readFileSync(path.join(out, "runner-values.yaml"), "utf8")) as {
        gitlabUrl: string;
        runners: { secret: string; config: string };
      };
      const toml = fs.readFileSync(path.join(out, "runner-config.toml"), "utf8");
      assert.equal(values.runners.config, toml);
      assert.equal(values.runners.secret, "gitlab-runner-token");
      assert.equal(values.gitlabUrl, "https://gitlab.example.com");
      const k = (parseToml(toml) as { runners: { kubernetes: Record<string, unknown> }[] }).runners[0]
        .kubernetes;
      assert.deepEqual({ ...(k.node_tolerations as object) }, { "workload=gitlab-runner": "NoSchedule" });
      const all = fs
        .readdirSync(out, { recursive: true })
        .map(String)
        .filter((f) => fs.statSync(path.join(out, f)).isFile())
        .map((f) => fs.readFileSync(path.join(out, f), "utf8"))
        .join("\n");
      assert.doesNotMatch(all, /glrt-|glpat-/);
      assert.match(
        fs.readFileSync(path.join(out, "runner-token-secret.yaml"), "utf8"),
        /runner-token: "\[secret\]"/,
      );
    });
  }

  it("refuses a bad runner section, every problem at once, and writes nothing", () => {
    const dir = projectDir({
      bad: `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    agentProject: platform/clusters
  gitlab-eks:runnerPool:
    minSize: 0
    desiredSize: 0
  gitlab-eks:runner:
    runnerType: project_type
    tags: ["a,b"]
    jobResources:
      cpuRequest: lots
`,
    });
    const out = path.join(dir, "out");
    const r = cli(["render", "--stack", "bad", "--out", out], { cwd: dir });
    assert.equal(r.code, 1);
    const keys = r.stderr
      .trimEnd()
      .split("\n")
      .map((l) => l.split(": ")[0])
      .sort();
    assert.deepEqual(keys, [
      "gitlab-eks:runner.jobResources.cpuRequest",
      "gitlab-eks:runner.managerPlacement",
      "gitlab-eks:runner.project",
      "gitlab-eks:runner.tags[0]",
    ]);
    assert.ok(
      r.stderr
        .split("\n")
        .filter(Boolean)
        .every((l) => /Fix: /.test(l)),
    );
    assert.equal(fs.existsSync(out), false);
  });
});

describe("gitlab-eks doctor (runner checks)", () => {
  let w: GitlabWorld;
  const stack = (url: string, runner: string) => `
config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: ${url}
    agentProject: platform/clusters
  gitlab-eks:agent:
    enabled: false
  gitlab-eks:runner:
${runner}`;

  before(async () => {
    w = await gitlabWorld();
  });
  after(() => w.fake.close());

  it("prints the runner preflight, ok for a group the token can see", async () => {
    const dir = projectDir({ dev: stack(w.fake.url, "    group: platform\n") });
    const r = await cliAsync(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: w.maintainerToken },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^runner \(group_type\) for group platform$/m);
    assert.match(r.stdout, /^ok {4}token scopes: scopes: api$/m);
    assert.match(r.stdout, /^ok {4}group: platform \(id \d+\)/m);
    assert.match(r.stdout, /all checks passed\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(w.maintainerToken));
  });

  it("fails an instance runner without an administrator, saying so", async () => {
    const dir = projectDir({ dev: stack(w.fake.url, "    runnerType: instance_type\n") });
    const r = await cliAsync(["doctor", "--stack", "dev"], {
      cwd: dir,
      env: { GITLAB_TOKEN: w.maintainerToken },
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL {2}role: platform-bot is not an administrator/m);
    assert.match(r.stdout, /1 check failed\n$/);
  });
});
