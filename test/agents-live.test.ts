/**
 * Several agents (gitlab-eks:agents) against live systems, as a user meets them: `gitlab-eks doctor`
 * against the fake GitLab (each agent's checks under its own line; one agent's failure fails the run while
 * the other's pass; an unreachable GitLab reported once), `gitlab-eks verify` against the fake Kubernetes
 * API (each Flux agent's Kustomization and HelmRelease, a not-ready one named with its agent), and the
 * GitLab layer's messages naming the agent's own key (`gitlab-eks:agents[1].<x>`).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { resolveConnection } from "../infra/gitlab/connection";
import { gitlabClient } from "../infra/gitlab/client";
import { claimAgent, ensureUrlConfiguration } from "../infra/gitlab/agents";
import { clusterAgentProvider } from "../infra/cloud/gitlab/agentResources";
import { repositoryFileProvider } from "../infra/cloud/gitlab/agentObjects";
import { faultWorld } from "./support/faults";
import { cliAsync as cli, projectDir } from "./support/cli";
import { verifySuite } from "./support/fake-kube";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";

const stack = (url: string, agents: string) => `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    name: ops
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: ${url}
    agentProject: platform/clusters
  gitlab-eks:autoscaler:
    enabled: false
  gitlab-eks:agents:
${agents}`;

/** The lines printed under each agent's heading, by agent name. */
function sections(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of stdout.trimEnd().split("\n")) {
    const m = /^agent "([^"]+)" in /.exec(line);
    if (m) out[m[1]] = current = [line];
    else if (/^runner |^\d+ checks? failed$|^all checks passed$/.test(line)) current = undefined;
    else current?.push(line);
  }
  return out;
}

describe("gitlab-eks doctor with several agents", () => {
  let w: GitlabWorld;
  const dirs: string[] = [];
  const doctor = (agents: string, url = w.fake.url) => {
    const dir = projectDir({ dev: stack(url, agents) });
    dirs.push(dir);
    return cli(["doctor", "--stack", "dev"], { cwd: dir, env: { GITLAB_TOKEN: w.maintainerToken } });
  };

  before(async () => {
    w = await gitlabWorld({
      instance: { version: "18.5.1-ee", kas: { version: "18.5.1", externalUrl: "wss://kas.example.com" } },
    });
  });
  after(() => {
    w.fake.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("runs every agent's checks, each under a line naming the agent, its project and its setting", async () => {
    const r = await doctor(`    - name: ops
    - name: apps
      project: platform/apps
      installMethod: flux
`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const s = sections(r.stdout);
    assert.deepEqual(Object.keys(s), ["ops", "apps"]);
    assert.equal(s.ops[0], 'agent "ops" in platform/clusters');
    assert.equal(s.apps[0], 'agent "apps" in platform/apps (gitlab-eks:agents[1])');
    assert.ok(
      s.ops.includes("ok    role on agent project: Maintainer on platform/clusters"),
      s.ops.join("\n"),
    );
    assert.ok(s.apps.includes("ok    role on agent project: Maintainer on platform/apps"), s.apps.join("\n"));
    assert.ok(s.apps.includes("ok    flux branch: main exists in platform/apps"), s.apps.join("\n"));
    assert.ok(!s.ops.some((l) => l.includes("flux branch")), "the helm agent has no Flux check");
    for (const name of ["ops", "apps"])
      for (const check of ["token valid", "KAS", "agent version"])
        assert.ok(
          s[name].some((l) => l.startsWith(`ok    ${check}: `)),
          `${check} of ${name}:\n${r.stdout}`,
        );
    assert.match(r.stdout, /^all checks passed$/m);
    assert.ok(!r.stdout.includes(w.maintainerToken));
  });

  it("one agent's failing checks fail the run, under that agent, while the other's pass", async () => {
    const r = await doctor(`    - name: ops
    - name: apps
      project: platform/missing
    - name: web
      project: platform/apps
      installMethod: flux
      flux:
        branch: no-such-branch
`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const s = sections(r.stdout);
    assert.deepEqual(Object.keys(s), ["ops", "apps", "web"]);
    assert.ok(!s.ops.some((l) => l.startsWith("FAIL")), s.ops.join("\n"));
    assert.ok(
      s.apps.some((l) => /^FAIL {2}role on agent project: .*platform\/missing/.test(l)),
      s.apps.join("\n"),
    );
    assert.ok(
      s.web.some((l) =>
        l.startsWith(
          'FAIL  flux branch: gitlab-eks:agents[2].flux.branch: branch "no-such-branch" does not exist in platform/apps;',
        ),
      ),
      s.web.join("\n"),
    );
    assert.ok(
      s.web.some((l) => l.includes("pulumi config set --path 'gitlab-eks:agents[2].flux.branch' main")),
      s.web.join("\n"),
    );
    assert.ok(s.web.includes("ok    role on agent project: Maintainer on platform/apps"));
    assert.match(r.stdout, /^2 checks failed$/m);
  });

  it("refuses an agent of that name another stack registered, for that agent only", async () => {
    const other = w.fake.addAgent({ projectId: w.appsId, name: "taken" });
    w.fake.addAgentToken({
      agentId: other.id,
      name: "gitlab-eks-initial",
      description: "[gitlab-eks:gitlab-eks/production]",
    });
    w.fake.addAgent({ projectId: w.clustersId, name: "byhand" });
    const r = await doctor(`    - name: ops
    - name: taken
      project: platform/apps
    - name: byhand
      adopt: true
`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const s = sections(r.stdout);
    assert.ok(
      s.ops.includes(
        'ok    agent in GitLab: no agent "ops" in platform/clusters yet; pulumi up registers it',
      ),
      s.ops.join("\n"),
    );
    assert.ok(
      s.taken.some(
        (l) =>
          l.startsWith(
            'FAIL  agent in GitLab: agent "taken" in platform/apps belongs to gitlab-eks stack gitlab-eks/production',
          ) && l.endsWith("Give this stack its own gitlab-eks:agents[1].name."),
      ),
      s.taken.join("\n"),
    );
    assert.ok(
      s.byhand.some((l) =>
        /^ok {4}agent in GitLab: agent "byhand" \(id \d+\) exists and is adopted \(gitlab-eks:agents\[2\]\.adopt\)$/.test(
          l,
        ),
      ),
      s.byhand.join("\n"),
    );
    assert.match(r.stdout, /^1 check failed$/m);
  });

  it("names the agent's own setting in a version problem (preflight)", async () => {
    const r = await doctor(`    - name: ops
    - name: apps
      imageTag: v16.0.0
`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const s = sections(r.stdout);
    assert.ok(!s.ops.some((l) => l.startsWith("FAIL")), s.ops.join("\n"));
    assert.ok(
      s.apps.some((l) => l.startsWith("FAIL  agent version: gitlab-eks:agents[1].imageTag: ")),
      s.apps.join("\n"),
    );
  });

  it("has nothing to check when every entry is disabled", async () => {
    const r = await doctor(`    - enabled: false
    - name: apps
      enabled: false
`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^ok {4}agent: none \(gitlab-eks:agent\.enabled, or every gitlab-eks:agents entry's enabled, is false\)/m,
    );
    assert.doesNotMatch(r.stdout, /^agent "/m);
  });

  it("reports a GitLab that does not answer once, and skips the other agents' checks", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(probe.address() as net.AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    const r = await doctor(
      `    - name: ops
    - name: apps
    - name: web
`,
      url,
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/FAIL {2}reachable: /g)?.length, 1, r.stdout);
    const s = sections(r.stdout);
    for (const name of ["apps", "web"])
      assert.deepEqual(s[name].slice(1), [
        "skip  agent checks: not run, GitLab did not serve the first agent's checks (see reachable above)",
      ]);
  });
});

describe("gitlab-eks verify with two Flux agents", () => {
  const TOKEN = "k8s-aws-v1.fake-bearer-token-agents";
  const NS = "/namespaces/flux-system";
  const K = `/apis/kustomize.toolkit.fluxcd.io/v1${NS}/kustomizations`;
  const H = `/apis/helm.toolkit.fluxcd.io/v2${NS}/helmreleases`;
  const paths = {
    opsK: `${K}/gitlab-agent-ops`,
    opsH: `${H}/gitlab-agent`,
    appsK: `${K}/gitlab-agent-apps`,
    appsH: `${H}/gitlab-agent-apps`,
  };
  const ready = (status: string, reason: string) => ({
    status: { conditions: [{ type: "Ready", status, reason, message: `${reason} message` }] },
  });
  const suite = verifySuite(
    "dev",
    stack(
      "https://gitlab.example.com",
      `    - name: ops
      installMethod: flux
    - name: apps
      project: platform/apps
      installMethod: flux
`,
    ),
    TOKEN,
  );
  const verify = () => suite.verify();

  it("checks both agents' Kustomization and HelmRelease, each line naming its agent", async () => {
    for (const p of Object.values(paths)) suite.kube.objects[p] = ready("True", "Succeeded");
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^ok: agent "ops" \(gitlab-eks:agents\[0\]\): Flux Kustomization flux-system\/gitlab-agent-ops: Ready=True .*; agent "ops" \(gitlab-eks:agents\[0\]\): Flux HelmRelease flux-system\/gitlab-agent: Ready=True/m,
    );
    assert.match(
      r.stdout,
      /^ok: agent "apps" \(gitlab-eks:agents\[1\]\): Flux Kustomization flux-system\/gitlab-agent-apps: Ready=True .*Flux HelmRelease flux-system\/gitlab-agent-apps: Ready=True/m,
    );
    assert.deepEqual(
      suite.kube.requests
        .filter((q) => q.path.startsWith("/apis/"))
        .map((q) => q.path)
        .sort(),
      Object.values(paths).sort(),
    );
  });

  it("fails (exit 1) naming the agent whose HelmRelease is not ready, and only that one", async () => {
    for (const p of Object.values(paths)) suite.kube.objects[p] = ready("True", "Succeeded");
    suite.kube.objects[paths.appsH] = ready("False", "InstallFailed");
    const r = await verify();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /agent "apps" \(gitlab-eks:agents\[1\]\): Flux HelmRelease flux-system\/gitlab-agent-apps: Ready=False \(InstallFailed: /,
    );
    assert.doesNotMatch(r.stderr, /agent "ops"/);
  });

  it("says whose manifests Flux has not applied yet", async () => {
    suite.kube.objects[paths.opsK] = ready("True", "Succeeded");
    suite.kube.objects[paths.opsH] = ready("True", "Succeeded");
    suite.kube.objects[paths.appsK] = ready("True", "Succeeded");
    const r = await verify();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /agent "apps" \(gitlab-eks:agents\[1\]\): Flux HelmRelease flux-system\/gitlab-agent-apps: not found; Flux has not applied \.gitlab\/flux\/ops-apps of platform\/apps/,
    );
  });
});

describe("GitLab messages name the agent's own setting", () => {
  let w: GitlabWorld;
  const api = () =>
    gitlabClient(resolveConnection({ url: w.fake.url }, {}), { env: { GITLAB_TOKEN: w.maintainerToken } });
  before(async () => {
    w = await gitlabWorld({ instance: { version: "18.5.1-ee", kas: { version: "18.5.1" } } });
  });
  after(() => w.fake.close());

  it("an existing agent this stack did not register (agents.ts)", async () => {
    w.fake.addAgent({ projectId: w.clustersId, name: "apps" });
    const claim = await claimAgent(api(), "platform/clusters", "apps", {
      owner: "platform-clusters/dev",
      configKey: "gitlab-eks:agents[1]",
    });
    assert.equal(claim.kind, "refused");
    const reason = claim.kind === "refused" ? claim.reason : "";
    assert.match(reason, /Set gitlab-eks:agents\[1\]\.adopt to true/);
    assert.match(reason, /another gitlab-eks:agents\[1\]\.name\.$/);
    assert.doesNotMatch(reason, /gitlab-eks:agent\./);
  });

  it("receptive agents not available (urlConfigurations.ts)", async () => {
    const agent = w.fake.addAgent({ projectId: w.clustersId, name: "receptive" });
    await assert.rejects(
      ensureUrlConfiguration(api(), "platform/clusters", agent.id, "grpcs://agent.example.com:443", {
        configKey: "gitlab-eks:agents[1]",
      }),
      (e: Error) => {
        assert.match(
          e.message,
          /Remove gitlab-eks:agents\[1\]\.receptive\.url \(or gitlab-eks:agents\[1\]\.receptiveUrl\)/,
        );
        assert.doesNotMatch(e.message, /gitlab-eks:agent\./);
        return true;
      },
    );
  });
});

describe("the Pulumi program's GitLab objects name an agents entry's own setting", () => {
  const fw = faultWorld();

  it("the agent and its config file refuse an agent another stack registered, naming gitlab-eks:agents[1].name", async () => {
    fw.w.fake.addAgent({ projectId: fw.w.clustersId, name: "apps" });
    fw.w.fake.putFile(
      fw.w.clustersId,
      "main",
      ".gitlab/agents/apps/config.yaml",
      "# [gitlab-eks:other/prod]\n",
    );
    const news = {
      target: fw.target,
      project: "platform/clusters",
      name: "apps",
      owner: "gitlab-eks/dev",
      adopt: false,
      configKey: "gitlab-eks:agents[1]",
    };
    const checked = await clusterAgentProvider.check!({}, news);
    const reason = checked.failures?.[0]?.reason ?? "";
    assert.match(reason, /gitlab-eks:agents\[1\]\.name/, reason);
    assert.doesNotMatch(reason, /gitlab-eks:agent\./);

    const file = await repositoryFileProvider.check!(
      {},
      {
        ...news,
        path: ".gitlab/agents/apps/config.yaml",
        agentName: "apps",
        content: "x",
        commitMessage: "m",
      },
    );
    const fileReason = file.failures?.[0]?.reason ?? "";
    assert.match(fileReason, /gitlab-eks:agents\[1\]\.name/, fileReason);
    assert.doesNotMatch(fileReason, /gitlab-eks:agent\./);
  });
});
