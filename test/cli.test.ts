import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { readStackFiles } from "../infra/config/stackFiles";
import { requireValidConfig } from "../infra/config/validate";
import { desiredNodePools } from "../infra/model/nodePools";
import { renderStack } from "../infra/model/render";
import { productionWithFlux } from "./support/deploy";
import { cli, projectDir, ROOT } from "./support/cli";

const BAD_STACK = `
config:
  gitlab-eks:cluster:
    kubernetesVersion: "1.28"
    vpcCidr: 10.0.0.0/16
    vpcId: vpc-0123456789abcdef0
  gitlab-eks:runnerPool:
    minSize: 4
    maxSize: 2
    capacityType: spot
    diskSizeGb: 8
  gitlab-eks:isolaton:
    labelKey: workload
`;

/** No stack trace, ever, for bad input. */
function assertNoStackTrace(text: string) {
  assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m);
  assert.doesNotMatch(text, /Error: /);
}

describe("gitlab-eks validate", () => {
  for (const stack of ["dev", "staging", "production"]) {
    it(`prints ok for the example stack ${stack}`, () => {
      const r = cli(["validate", "--stack", stack]);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, "ok\n");
      assert.equal(r.code, 0);
    });
  }

  it("prints every problem on its own line, each starting with the full key, and exits 1", () => {
    const dir = projectDir({ broken: BAD_STACK });
    const r = cli(["validate", "--stack", "broken"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => l.split(": ")[0]).sort(), [
      "aws:region",
      "gitlab-eks:cluster.kubernetesVersion",
      "gitlab-eks:cluster.vpcId",
      "gitlab-eks:gitlab.agentProject",
      "gitlab-eks:isolaton",
      "gitlab-eks:runnerPool.capacityType",
      "gitlab-eks:runnerPool.diskSizeGb",
      "gitlab-eks:runnerPool.minSize",
    ]);
    for (const line of lines) assert.match(line, /Fix: /, line);
    assert.match(
      r.stderr,
      /gitlab-eks:isolaton: unknown setting; it is not read: did you mean gitlab-eks:isolation\?/,
    );
    assertNoStackTrace(r.stderr);
  });

  it("says which stack file is missing and which stacks exist", () => {
    const r = cli(["validate", "--stack", "qa"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Pulumi\.qa\.yaml: not found in .*; stack "qa" has no config file \(stacks here: dev, production, staging\)/,
    );
    assertNoStackTrace(r.stderr);
  });

  it("reports a stack file that is not YAML", () => {
    const dir = projectDir({ odd: "config:\n  aws:region: [unclosed\n" });
    const r = cli(["validate", "--stack", "odd"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Pulumi\.odd\.yaml: is not valid YAML/);
    assertNoStackTrace(r.stderr);
  });

  it("reads the project folder given with --dir", () => {
    const dir = projectDir({
      ok: "config:\n  aws:region: us-east-1\n  gitlab-eks:gitlab:\n    agentProject: g/c\n  gitlab-eks:cluster:\n    vpcCidr: 10.1.0.0/16\n",
    });
    const r = cli(["validate", "--stack", "ok", "--dir", dir], { cwd: os.tmpdir() });
    assert.equal(r.stdout, "ok\n");
    assert.equal(r.code, 0);
  });

  it("treats secure values as present without decrypting them", () => {
    const dir = projectDir({
      s: "config:\n  aws:region: us-east-1\n  gitlab-eks:gitlab:\n    agentProject: g/c\n  gitlab-eks:cluster:\n    vpcCidr: 10.1.0.0/16\n  other:token:\n    secure: v1:abc\n",
    });
    const r = cli(["validate", "--stack", "s"], { cwd: dir });
    assert.equal(r.stdout, "ok\n");
  });

  it("explains a usage error", () => {
    const r = cli(["validate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required option '-s, --stack <name>' not specified/);
  });
});

describe("gitlab-eks render", () => {
  it("writes node-pools.json computed by the same functions the Pulumi program uses", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const r = cli(["render", "--stack", "dev", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const pools = JSON.parse(fs.readFileSync(path.join(out, "node-pools.json"), "utf8"));
    const files = readStackFiles(ROOT, "dev");
    const config = requireValidConfig({
      project: files.project,
      stack: "dev",
      values: files.values,
      env: {},
    });
    assert.deepEqual(pools, desiredNodePools(config));
    assert.deepEqual(
      pools.map((p: { name: string; role: string }) => [p.name, p.role]),
      [
        ["gitlab-eks-dev-system", "system"],
        ["gitlab-eks-dev-runner", "runner"],
      ],
    );
    const runner = pools[1];
    assert.deepEqual(runner.labels, { workload: "gitlab-runner" });
    assert.deepEqual(runner.taints, [{ key: "workload", value: "gitlab-runner", effect: "NoSchedule" }]);
    assert.deepEqual(runner.instanceTypes, ["t3.medium", "t3a.medium"]);
    assert.equal(runner.capacityType, "SPOT");
    // dev scales from zero (Cluster Autoscaler).
    assert.deepEqual([runner.minSize, runner.maxSize, runner.desiredSize, runner.diskSizeGb], [0, 3, 0, 30]);
    for (const key of [
      "name",
      "role",
      "labels",
      "taints",
      "instanceTypes",
      "capacityType",
      "minSize",
      "maxSize",
      "desiredSize",
      "diskSizeGb",
    ])
      assert.ok(key in pools[0], key);
    assert.match(r.stdout, /node-pools\.json/);
  });

  it("writes the agent's config file, Helm values and RBAC, with no secret in them", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const r = cli(["render", "--stack", "staging", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    assert.deepEqual(fs.readdirSync(out).sort(), [
      "agent-config.yaml",
      "agent-rbac.yaml",
      "agent-values.yaml",
      // And Cluster Autoscaler (test/autoscaler-render.test.ts).
      "autoscaler-iam.json",
      "autoscaler-values.yaml",
      // staging keeps warm runner capacity in working hours (autoscaler.headroom).
      "headroom.yaml",
      "node-pools.json",
      // The example stacks also have a runner (test/runner-cli.test.ts).
      "runner-config.toml",
      "runner-token-secret.yaml",
      "runner-values.yaml",
    ]);
    const values = parse(read("agent-values.yaml"));
    assert.equal(values.config.secretName, "gitlab-agent-token");
    assert.equal(values.config.token, undefined);
    assert.deepEqual(values.rbac, { create: false });
    assert.match(read("agent-values.yaml"), /key token: \[secret\]/);
    const file = parse(read("agent-config.yaml"));
    assert.deepEqual(file.ci_access.groups[0], {
      id: "platform",
      default_namespace: "apps-staging",
      access_as: { agent: {} },
    });
    const rbac = parseAllDocuments(read("agent-rbac.yaml")).map((d) => d.toJS());
    assert.ok(rbac.every((o) => o.roleRef?.name !== "cluster-admin"));
    for (const f of fs.readdirSync(out)) assert.doesNotMatch(read(f), /glagent-|glpat-|glrt-/);
  });

  it("installMethod flux (production): writes under flux/ the manifests committed for Flux and Flux's cluster objects, every one parsing, none with a secret", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    // The production example with `pulumi config set --path gitlab-eks:agent.installMethod flux`.
    const file = parse(fs.readFileSync(path.join(ROOT, "Pulumi.production.yaml"), "utf8"));
    file.config["gitlab-eks:agent"].installMethod = "flux";
    const dir = projectDir({ production: stringify(file) });
    const r = cli(["render", "--stack", "production", "--dir", dir, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    const config = productionWithFlux();
    const agent = config.agents[0];
    assert.equal(agent.installMethod, "flux");
    assert.deepEqual(fs.readdirSync(path.join(out, "flux"), { recursive: true }).map(String).sort(), [
      "cluster",
      path.join("cluster", "flux-values.yaml"),
      path.join("cluster", "gitrepository.yaml"),
      path.join("cluster", "kustomization.yaml"),
      "gitlab-agent-helm-release.yaml",
      "gitlab-agent-helm-repository.yaml",
    ]);
    assert.match(r.stdout, /flux\/gitlab-agent-helm-release\.yaml/);
    // Exactly what pulumi up would commit to the manifest folder (here with the deploy-time placeholders).
    const committed = renderStack(config);
    for (const name of ["gitlab-agent-helm-repository.yaml", "gitlab-agent-helm-release.yaml"])
      assert.equal(read(`flux/${name}`), committed[`flux/${name}`]);

    const [repo] = parseAllDocuments(read("flux/gitlab-agent-helm-repository.yaml")).map((d) => d.toJS());
    assert.deepEqual(
      [repo.apiVersion, repo.kind, repo.spec.url],
      ["source.toolkit.fluxcd.io/v1", "HelmRepository", "https://charts.gitlab.io"],
    );
    const release = parse(read("flux/gitlab-agent-helm-release.yaml"));
    assert.deepEqual([release.apiVersion, release.kind], ["helm.toolkit.fluxcd.io/v2", "HelmRelease"]);
    assert.deepEqual(release.spec.chart.spec, {
      chart: "gitlab-agent",
      version: agent.chartVersion,
      sourceRef: { kind: "HelmRepository", name: repo.metadata.name, namespace: repo.metadata.namespace },
    });
    // The values are the direct install's, exactly (agent-values.yaml), token by Secret name only.
    assert.deepEqual(release.spec.values, parse(read("agent-values.yaml")));
    assert.equal(release.spec.values.config.secretName, "gitlab-agent-token");
    assert.deepEqual(
      [release.spec.targetNamespace, release.spec.releaseName],
      [agent.namespace, agent.releaseName],
    );

    const gitRepository = parse(read("flux/cluster/gitrepository.yaml"));
    assert.deepEqual(
      [gitRepository.apiVersion, gitRepository.kind],
      ["source.toolkit.fluxcd.io/v1", "GitRepository"],
    );
    assert.equal(gitRepository.spec.url, "https://gitlab.example.com/platform/clusters.git");
    assert.deepEqual(gitRepository.spec.secretRef, { name: "gitlab-agent-flux-deploy-token" });
    const kustomization = parse(read("flux/cluster/kustomization.yaml"));
    assert.deepEqual(
      [kustomization.apiVersion, kustomization.kind, kustomization.spec.path, kustomization.spec.sourceRef],
      [
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "./.gitlab/flux/gitlab-eks-production",
        { kind: "GitRepository", name: gitRepository.metadata.name },
      ],
    );
    const fluxValues = parse(read("flux/cluster/flux-values.yaml"));
    assert.equal(fluxValues.installCRDs, true);

    for (const f of fs.readdirSync(path.join(out, "flux"), { recursive: true }).map(String)) {
      if (!f.endsWith(".yaml")) continue;
      const text = read(path.join("flux", f));
      for (const doc of parseAllDocuments(text)) assert.deepEqual(doc.errors, [], f);
      assert.doesNotMatch(text, /glagent-|glpat-|glrt-|gldt-|\[secret\]|password:|token:/, f);
    }
  });

  it("writes nothing for an invalid stack", () => {
    const dir = projectDir({ broken: BAD_STACK });
    const out = path.join(dir, "out");
    const r = cli(["render", "--stack", "broken", "--out", out], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(fs.existsSync(out), false);
  });
});
