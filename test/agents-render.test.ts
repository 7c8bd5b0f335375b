/**
 * `gitlab-eks render` of a stack with several agents (gitlab-eks:agents), as a user runs it: the first
 * agent's files at the top, every other agent's under `agents/<name>/`, Flux's values once; each agent's
 * files name its own project, namespace, release, token Secret and Flux objects, and no secret.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { cli, projectDir, ROOT } from "./support/cli";

const stack = (agents: string) => `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    name: prod
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    url: https://gitlab.example.com
    agentProject: platform/clusters
  gitlab-eks:agents:
${agents}`;

const HELM_AND_FLUX = stack(`    - name: ops
      ciAccess:
        projects:
          - id: platform/apps
    - name: apps
      project: apps/deploy
      installMethod: flux
`);

const TWO_FLUX = stack(`    - name: ops
      installMethod: flux
    - name: apps
      project: apps/deploy
      installMethod: flux
      namespace: apps-agent
`);

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every file under `dir`, by its path relative to it. */
function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const e of fs.readdirSync(path.join(dir, at), { withFileTypes: true })) {
      const rel = at ? `${at}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else files[rel] = fs.readFileSync(path.join(dir, rel), "utf8");
    }
  };
  walk("");
  return files;
}

function render(text: string): Record<string, string> {
  const dir = projectDir({ dev: text });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-agents-"));
  try {
    const r = cli(["render", "--stack", "dev", "--dir", dir, "--out", out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return readTree(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The YAML documents of a file, each parsed without error. */
function docs(files: Record<string, string>, name: string): Doc[] {
  assert.ok(files[name] !== undefined, `no ${name} in ${Object.keys(files).join(", ")}`);
  return parseAllDocuments(files[name]).map((d) => {
    assert.deepEqual(d.errors, [], `${name} parses`);
    return d.toJS() as Doc;
  });
}
const one = (files: Record<string, string>, name: string): Doc => docs(files, name)[0];

const AGENT_FILES = ["agent-config.yaml", "agent-values.yaml", "agent-rbac.yaml"];
const FLUX_FILES = [
  "flux/gitlab-agent-helm-repository.yaml",
  "flux/gitlab-agent-helm-release.yaml",
  "flux/cluster/gitrepository.yaml",
  "flux/cluster/kustomization.yaml",
];
const OTHERS = ["node-pools.json", "autoscaler-values.yaml", "autoscaler-iam.json"];

/** What a Flux agent's committed and cluster-side manifests must say about it. */
function assertFluxAgent(
  files: Record<string, string>,
  at: string,
  a: {
    name: string;
    project: string;
    namespace: string;
    release: string;
    secret: string;
    gitSecret: string;
    folder: string;
  },
) {
  const repo = one(files, `${at}flux/gitlab-agent-helm-repository.yaml`);
  const release = one(files, `${at}flux/gitlab-agent-helm-release.yaml`);
  const git = one(files, `${at}flux/cluster/gitrepository.yaml`);
  const kustomization = one(files, `${at}flux/cluster/kustomization.yaml`);
  assert.equal(repo.metadata.name, a.release);
  assert.equal(release.metadata.name, a.release);
  assert.equal(release.spec.releaseName, a.release);
  assert.equal(release.spec.targetNamespace, a.namespace);
  assert.equal(release.spec.storageNamespace, a.namespace);
  assert.equal(release.spec.chart.spec.sourceRef.name, a.release);
  assert.equal(release.spec.values.config.secretName, a.secret);
  assert.equal(release.metadata.labels["gitlab-eks/agent"], a.name);
  assert.equal(git.metadata.name, `gitlab-agent-${a.name}`);
  assert.equal(git.spec.url, `https://gitlab.example.com/${a.project}.git`);
  assert.deepEqual(git.spec.secretRef, { name: a.gitSecret });
  assert.equal(kustomization.metadata.name, `gitlab-agent-${a.name}`);
  assert.equal(kustomization.spec.path, `./${a.folder}`);
  assert.deepEqual(kustomization.spec.sourceRef, { kind: "GitRepository", name: `gitlab-agent-${a.name}` });
}

function assertNoSecret(files: Record<string, string>) {
  for (const [name, content] of Object.entries(files)) {
    // Secrets are named, never carried: no Secret object, no token value, no kubeconfig.
    assert.doesNotMatch(content, /^kind: Secret$/m, name);
    assert.doesNotMatch(
      content,
      /glagent-|glpat-|gldt-|client-certificate-data|BEGIN [A-Z ]*PRIVATE KEY/,
      name,
    );
  }
}

describe("gitlab-eks render with several agents", () => {
  it("a helm agent and a flux agent: each one's files, Flux's values once, nothing of one in the other's", () => {
    const files = render(HELM_AND_FLUX);
    assert.deepEqual(
      Object.keys(files).sort(),
      [
        ...OTHERS,
        ...AGENT_FILES,
        ...AGENT_FILES.map((f) => `agents/apps/${f}`),
        ...FLUX_FILES.map((f) => `agents/apps/${f}`),
        "flux/cluster/flux-values.yaml",
      ].sort(),
    );
    // The first agent (helm): its config file in its project, its Helm values and RBAC.
    assert.match(files["agent-config.yaml"], /^# platform\/clusters: \.gitlab\/agents\/ops\/config\.yaml/);
    assert.equal(one(files, "agent-config.yaml").ci_access.projects[0].id, "platform/apps");
    assert.match(files["agent-values.yaml"], /release gitlab-agent .* in namespace gitlab-agent\./);
    assert.equal(one(files, "agent-values.yaml").config.secretName, "gitlab-agent-token");
    // The second agent (flux): its own project, namespace, release, Secret and folder.
    assert.match(
      files["agents/apps/agent-config.yaml"],
      /^# apps\/deploy: \.gitlab\/agents\/apps\/config\.yaml/,
    );
    assert.equal(one(files, "agents/apps/agent-config.yaml").ci_access, undefined);
    assert.equal(one(files, "agents/apps/agent-values.yaml").config.secretName, "gitlab-agent-apps-token");
    assertFluxAgent(files, "agents/apps/", {
      name: "apps",
      project: "apps/deploy",
      namespace: "gitlab-agent-apps",
      release: "gitlab-agent-apps",
      secret: "gitlab-agent-apps-token",
      // The first Flux agent of the list, but not the first agent: a Secret of its own name.
      gitSecret: "gitlab-agent-flux-deploy-token-apps",
      folder: ".gitlab/flux/prod-apps",
    });
    // RBAC: each agent's objects carry its own name only.
    const rbac = (f: string) => docs(files, f).map((d) => `${d.kind} ${d.metadata.name}`);
    for (const r of rbac("agent-rbac.yaml"))
      assert.match(r, /gitlab-agent-ops|^ServiceAccount gitlab-agent$/, r);
    for (const r of rbac("agents/apps/agent-rbac.yaml")) assert.match(r, /gitlab-agent-apps/, r);
    assert.ok(!files["agent-rbac.yaml"].includes("gitlab-agent-apps"));
    assert.ok(!files["agents/apps/agent-rbac.yaml"].includes("-ops"));
    assertNoSecret(files);
  });

  it("two flux agents: each one's HelmRelease, GitRepository, Kustomization and Secret; one Flux", () => {
    const files = render(TWO_FLUX);
    assert.deepEqual(
      Object.keys(files).sort(),
      [
        ...OTHERS,
        ...AGENT_FILES,
        ...FLUX_FILES,
        ...AGENT_FILES.map((f) => `agents/apps/${f}`),
        ...FLUX_FILES.map((f) => `agents/apps/${f}`),
        "flux/cluster/flux-values.yaml",
      ].sort(),
    );
    assertFluxAgent(files, "", {
      name: "ops",
      project: "platform/clusters",
      namespace: "gitlab-agent",
      release: "gitlab-agent",
      secret: "gitlab-agent-token",
      gitSecret: "gitlab-agent-flux-deploy-token",
      folder: ".gitlab/flux/prod",
    });
    assertFluxAgent(files, "agents/apps/", {
      name: "apps",
      project: "apps/deploy",
      namespace: "apps-agent",
      release: "gitlab-agent-apps",
      secret: "gitlab-agent-apps-token",
      gitSecret: "gitlab-agent-flux-deploy-token-apps",
      folder: ".gitlab/flux/prod-apps",
    });
    // Flux's chart values once, in one namespace, for both.
    assert.match(
      files["flux/cluster/flux-values.yaml"],
      /^# Helm values of release flux .* in namespace flux-system\./,
    );
    assert.equal(Object.keys(files).filter((f) => f.endsWith("flux-values.yaml")).length, 1);
    assertNoSecret(files);
  });

  it("refuses to render while a secure value in an agents entry is not decrypted", () => {
    const dir = projectDir({
      dev: stack(`    - name: ops
    - name: apps
      kasCaCert:
        secure: AAABAKcVX0Gv4t5ZbM1Tx4mSIJQ=
`),
    });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-agents-"));
    try {
      const r = cli(["render", "--stack", "dev", "--dir", dir, "--out", out]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /gitlab-eks:agents\[1\]\.kasCaCert/);
      assert.deepEqual(fs.readdirSync(out), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("operations.md names every file a several-agents render writes", () => {
    const section =
      fs
        .readFileSync(path.join(ROOT, "docs", "operations.md"), "utf8")
        .match(/^- `gitlab-eks render[\s\S]*?\n- /m)?.[0] ?? "";
    assert.ok(section.includes("`agents/<name>/`"), "the folder of every agent after the first");
    for (const name of Object.keys(render(TWO_FLUX)))
      assert.ok(section.includes(`\`${name.replace(/^agents\/apps\//, "")}\``), `render writes ${name}`);
  });
});
