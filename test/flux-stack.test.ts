/**
 * `agent.installMethod: flux` in the Pulumi program, under mocks and against the fake GitLab: Flux's
 * controllers (pinned, on the system pool), the GitRepository and Kustomization pointing Flux at the
 * agent project's manifest folder, the manifests for that folder (the direct install's values, no token)
 * committed on the Flux branch with the stack's header, Flux's deploy token held only in its Secret, the
 * environment linked to the HelmRelease, and no direct release of the agent; `helm` registers none of it.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { AgentConfig } from "../infra/config/agent";
import type { StackConfig } from "../infra/config/types";
import { fluxStatusPaths } from "../infra/model/fluxCheck";
import { isolationRule } from "../infra/model/isolation";
import { desiredNodePools } from "../infra/model/nodePools";
import { deployUnderMocks, exampleConfig, productionWithFlux } from "./support/deploy";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";
import { MOCK_AGENT_TOKEN, MOCK_DEPLOY_TOKEN, RecordingMocks, valueOf } from "./support/pulumi-mocks";
import { ownedBy, ownerOf } from "../infra/gitlab/ownership";
import { canSchedule, SchedNode } from "./support/scheduling";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const DYNAMIC = "pulumi-nodejs:dynamic/gitlab-eks:";
const GIT_REPOSITORY = "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository";
const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
/** Every pod of the flux2 chart (its templates place each by these values keys). */
const FLUX_PODS = [
  "sourceController",
  "kustomizeController",
  "helmController",
  "notificationController",
  "sourceWatcher",
  "imageAutomationController",
  "imageReflectionController",
  "cli",
  "crds.migration",
];
type Deployed = Awaited<ReturnType<typeof deployUnderMocks>>["deployed"];

const withAgent = (config: StackConfig, change: Partial<AgentConfig>): StackConfig => ({
  ...config,
  agents: [{ ...config.agents[0], ...change }],
});
const releases = (mocks: RecordingMocks, chart: string) =>
  mocks.ofType(RELEASE).filter((r) => r.inputs.chart === chart);
const nodesOf = (config: StackConfig): SchedNode[] =>
  desiredNodePools(config).map((p) => ({ name: p.role, labels: p.labels, taints: p.taints }));

describe("installMethod flux in the Pulumi program", () => {
  let world: GitlabWorld;
  let config: StackConfig;
  let agent: AgentConfig;
  let mocks: RecordingMocks;
  let deployed: Deployed;
  let files: Record<string, string>;
  before(async () => {
    world = await gitlabWorld({
      instance: {
        version: "18.5.1-ee",
        kas: { version: "18.5.1", externalUrl: "wss://kas.gitlab.example.com" },
      },
    });
    // A non-default isolation rule: every placement must follow it, none may be spelled out.
    const example = productionWithFlux();
    config = { ...example, isolation: { labelKey: "example.com/pool", labelValue: "ci-jobs" } };
    agent = config.agents[0];
    ({ mocks, deployed } = await deployUnderMocks(world, "production", config));
    files = await valueOf(deployed.agents[0].flux!.manifests);
  });
  after(() => world.fake.close());

  it("installs Flux's controllers from the pinned fluxcd-community flux2 chart in their namespace", () => {
    const [flux] = releases(mocks, "flux2");
    assert.ok(flux, "a flux2 release");
    const i = flux.inputs;
    assert.deepEqual(
      [i.name, i.version, i.repositoryOpts.repo, i.namespace, i.atomic],
      [
        "flux",
        agent.flux.chartVersion,
        "https://fluxcd-community.github.io/helm-charts",
        "flux-system",
        true,
      ],
    );
    assert.equal(agent.flux.chartVersion, "2.19.0");
    assert.equal(i.values.installCRDs, true, "the GitRepository and Kustomization need Flux's CRDs");
    const ns = mocks.one("kubernetes:core/v1:Namespace", "ns-flux-system").inputs;
    assert.equal(ns.metadata.name, "flux-system");
    // Image automation is off, as in Flux's default install.
    assert.equal(i.values.imageAutomationController.create, false);
    assert.equal(i.values.imageReflectionController.create, false);
  });

  it("places every pod of the flux2 chart (controllers, pre-install check, CRD migration) on the system pool, by the isolation rule", () => {
    const values = releases(mocks, "flux2")[0].inputs.values;
    const rule = isolationRule(config.isolation);
    const nodes = nodesOf(config);
    for (const c of FLUX_PODS) {
      const pod = c.split(".").reduce((at, k) => at[k], values);
      assert.deepEqual(pod.affinity, rule.avoidAffinity, c);
      assert.deepEqual([pod.tolerations, pod.nodeSelector], [[], {}], c);
      assert.deepEqual(
        nodes.filter((n) => canSchedule(pod, n)).map((n) => n.name),
        ["system"],
        `${c} may run on the system pool only`,
      );
      // Even a runner node that lost its taint is refused by the required affinity.
      const untainted = { ...nodes.find((n) => n.name === "runner")!, taints: [] };
      assert.equal(canSchedule(pod, untainted), false, c);
    }
  });

  it("points Flux at the agent project's manifest folder: a GitRepository with a deploy-token Secret by name, and a Kustomization", () => {
    const [repo] = mocks.ofType(GIT_REPOSITORY);
    const [kustomization] = mocks.ofType(KUSTOMIZATION);
    assert.ok(repo && kustomization);
    assert.deepEqual(repo.inputs.metadata, {
      name: `gitlab-agent-${agent.name}`,
      namespace: "flux-system",
      labels: { "app.kubernetes.io/managed-by": "gitlab-eks", "gitlab-eks/agent": agent.name },
    });
    assert.deepEqual(repo.inputs.spec, {
      interval: "1m",
      url: `${world.fake.url}/platform/clusters.git`,
      ref: { branch: "main" },
      secretRef: { name: "gitlab-agent-flux-deploy-token" },
    });
    assert.equal(agent.flux.manifestPath, `.gitlab/flux/${config.cluster.name}`);
    assert.deepEqual(kustomization.inputs.spec, {
      interval: "10m",
      path: `./.gitlab/flux/${config.cluster.name}`,
      prune: true,
      wait: true,
      timeout: "10m",
      sourceRef: { kind: "GitRepository", name: repo.inputs.metadata.name },
    });
    assert.equal(kustomization.inputs.metadata.namespace, "flux-system");
  });

  it("creates the GitRepository and Kustomization only after the flux2 release that installs their CRDs", () => {
    const [repo] = mocks.ofType(GIT_REPOSITORY);
    const [kustomization] = mocks.ofType(KUSTOMIZATION);
    const release = `${RELEASE}::flux`;
    assert.ok(mocks.dependenciesOf(GIT_REPOSITORY, repo.name).includes(release));
    const kDeps = mocks.dependenciesOf(KUSTOMIZATION, kustomization.name);
    assert.ok(kDeps.includes(release), kDeps.join(", "));
    assert.ok(kDeps.includes(`${GIT_REPOSITORY}::${repo.name}`), "the Kustomization waits for its source");
    // The release itself waits for Flux's namespace (and the cluster): nothing of Flux goes first.
    const rDeps = mocks.dependenciesOf(RELEASE, "flux");
    assert.ok(rDeps.includes("kubernetes:core/v1:Namespace::ns-flux-system"), rDeps.join(", "));
  });

  it("creates the GitRepository only after the deploy-token Secret it names, which waits for the token", () => {
    const [repo] = mocks.ofType(GIT_REPOSITORY);
    const secret = "kubernetes:core/v1:Secret::flux-git-secret";
    assert.equal(repo.inputs.spec.secretRef.name, "gitlab-agent-flux-deploy-token");
    assert.ok(mocks.dependenciesOf(GIT_REPOSITORY, repo.name).includes(secret));
    const sDeps = mocks.dependenciesOf("kubernetes:core/v1:Secret", "flux-git-secret");
    assert.ok(sDeps.includes("kubernetes:core/v1:Namespace::ns-flux-system"), sDeps.join(", "));
    assert.ok(sDeps.includes(`${DYNAMIC}FluxDeployToken::flux-deploy-token`), sDeps.join(", "));
    // The old deploy token is revoked only once the Secret holds its successor.
    const retire = mocks.dependenciesOf(
      `${DYNAMIC}FluxDeployTokenRetirement`,
      "flux-deploy-token-retirement",
    );
    assert.ok(retire.includes(secret), retire.join(", "));
  });

  it("installs no direct release of the agent; its namespace, token Secret and RBAC stay the stack's", () => {
    assert.deepEqual(releases(mocks, "gitlab-agent"), []);
    const secret = mocks.one("kubernetes:core/v1:Secret", "gitlab-agent-token").inputs;
    assert.equal(secret.metadata.namespace, agent.namespace);
    assert.ok(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").length > 0);
    assert.ok(
      mocks.ofType("kubernetes:core/v1:Namespace").some((n) => n.inputs.metadata.name === agent.namespace),
    );
    assert.equal(deployed.agents[0].release, undefined);
  });

  it("computes the manifests for the folder: a HelmRepository and a pinned HelmRelease with exactly the direct install's values", async () => {
    const dir = `.gitlab/flux/${config.cluster.name}`;
    assert.deepEqual(Object.keys(files).sort(), [
      `${dir}/gitlab-agent-helm-release.yaml`,
      `${dir}/gitlab-agent-helm-repository.yaml`,
    ]);
    const repo = parse(files[`${dir}/gitlab-agent-helm-repository.yaml`]);
    assert.deepEqual(
      [repo.apiVersion, repo.kind, repo.metadata.namespace, repo.spec.url],
      ["source.toolkit.fluxcd.io/v1", "HelmRepository", "flux-system", "https://charts.gitlab.io"],
    );
    const hr = parse(files[`${dir}/gitlab-agent-helm-release.yaml`]);
    assert.deepEqual([hr.apiVersion, hr.kind], ["helm.toolkit.fluxcd.io/v2", "HelmRelease"]);
    assert.deepEqual(
      [
        hr.spec.releaseName,
        hr.spec.targetNamespace,
        hr.spec.storageNamespace,
        hr.spec.install.createNamespace,
      ],
      [agent.releaseName, agent.namespace, agent.namespace, false],
    );
    assert.deepEqual(hr.spec.chart.spec, {
      chart: "gitlab-agent",
      version: agent.chartVersion,
      sourceRef: { kind: "HelmRepository", name: repo.metadata.name, namespace: "flux-system" },
    });
    // The same stack installed directly: its release's values are the HelmRelease's, to the letter.
    const direct = await deployUnderMocks(world, "production", withAgent(config, { installMethod: "helm" }));
    const [release] = releases(direct.mocks, "gitlab-agent");
    assert.deepEqual(hr.spec.values, release.inputs.values);
    assert.equal(hr.spec.values.config.secretName, "gitlab-agent-token");
    assert.equal(hr.spec.values.config.kasAddress, "wss://kas.gitlab.example.com");
    assert.deepEqual(hr.spec.values.affinity, isolationRule(config.isolation).avoidAffinity);
  });

  it("gives Flux a read_repository deploy token named for this stack, held only in the Secret Flux's GitRepository names", () => {
    const owner = ownerOf(config.project, config.stack);
    const token = mocks.one(`${DYNAMIC}FluxDeployToken`, "flux-deploy-token").inputs;
    assert.equal(token.project, agent.project);
    assert.ok(ownedBy(token.name, owner), token.name);
    assert.ok(token.name.includes(agent.tokenRotation), "the rotation trigger is in the name");
    const secret = mocks.one("kubernetes:core/v1:Secret", "flux-git-secret").inputs;
    assert.deepEqual(
      [secret.metadata.name, secret.metadata.namespace, secret.type],
      ["gitlab-agent-flux-deploy-token", agent.flux.namespace, "Opaque"],
    );
    // A Pulumi secret (the deploy token is an additionalSecretOutput): the signature key marks it.
    assert.equal(secret.stringData["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
    assert.deepEqual(secret.stringData.value, {
      username: "gitlab+deploy-token-5",
      password: MOCK_DEPLOY_TOKEN,
    });
    assert.equal(secret.metadata.annotations["gitlab-eks/deploy-token-id"], "5");
    const retirement = mocks.one(
      `${DYNAMIC}FluxDeployTokenRetirement`,
      "flux-deploy-token-retirement",
    ).inputs;
    assert.deepEqual([retirement.keepTokenId, retirement.owner], [5, owner]);
  });

  it("commits exactly the computed manifests into the manifest path on the Flux branch, with this stack's header", () => {
    const owner = ownerOf(config.project, config.stack);
    const committed = mocks
      .ofType(`${DYNAMIC}RepositoryFile`)
      .filter((f) => f.name.startsWith("flux-manifest-"));
    assert.deepEqual(committed.map((f) => f.inputs.path).sort(), Object.keys(files).sort());
    for (const f of committed) {
      assert.deepEqual([f.inputs.branch, f.inputs.project], [agent.flux.branch, agent.project]);
      assert.equal(f.inputs.content, files[f.inputs.path]);
      assert.ok(ownedBy(f.inputs.content, owner), "the header carries the stack's identity");
      assert.equal(f.inputs.owner, owner);
    }
  });

  it("links the environment to the agent's HelmRelease and retires a replaced agent token after the commit", () => {
    const env = mocks.one(`${DYNAMIC}AgentEnvironment`, "gitlab-agent-environment").inputs;
    assert.equal(
      env.fluxResourcePath,
      `helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/${agent.releaseName}`,
    );
    // GitLab's own formula (environment_flux_resource_selector.vue) applied to the committed HelmRelease:
    // `${apiVersion}/namespaces/${namespace}/helmreleases/${name}`; the page then GETs /apis/<path>.
    const release = Object.values(files)
      .map((text) => parse(text))
      .find((o) => o.kind === "HelmRelease");
    assert.equal(
      env.fluxResourcePath,
      `${release.apiVersion}/namespaces/${release.metadata.namespace}/helmreleases/${release.metadata.name}`,
    );
    assert.equal(`/apis/${env.fluxResourcePath}`, fluxStatusPaths(agent).helmRelease);
    assert.equal(env.kubernetesNamespace, agent.environment.kubernetesNamespace);
    const retirement = mocks.one(`${DYNAMIC}AgentTokenRetirement`, "gitlab-agent-token-retirement").inputs;
    assert.equal(retirement.keepTokenId, 7);
  });

  it("puts no token in any manifest or Flux object", () => {
    const everything = [
      ...Object.values(files),
      ...mocks.ofType(`${DYNAMIC}RepositoryFile`).map((r) => JSON.stringify(r.inputs)),
      ...[...mocks.ofType(GIT_REPOSITORY), ...mocks.ofType(KUSTOMIZATION), ...releases(mocks, "flux2")].map(
        (r) => JSON.stringify(r.inputs),
      ),
    ];
    for (const text of everything) {
      assert.ok(!text.includes(MOCK_AGENT_TOKEN), "agent token");
      assert.ok(!text.includes(MOCK_DEPLOY_TOKEN), "deploy token");
      assert.ok(!text.includes(world.maintainerToken), "GitLab token");
      assert.doesNotMatch(text, /glagent-|glpat-|gldt-|password|"token"/);
    }
  });
});

describe("installMethod flux with a branch the agent project does not have", () => {
  let world: GitlabWorld;
  before(async () => {
    world = await gitlabWorld({
      instance: {
        version: "18.5.1-ee",
        kas: { version: "18.5.1", externalUrl: "wss://kas.gitlab.example.com" },
      },
    });
  });
  after(() => world.fake.close());

  it("fails the preflight, creating nothing, naming agent.flux.branch and the fix; once the branch exists it goes on", async () => {
    const base = productionWithFlux();
    const config = withAgent(base, { flux: { ...base.agents[0].flux, branch: "gitops" } });
    await assert.rejects(deployUnderMocks(world, "production", config), (e: Error) => {
      assert.match(e.message, /The GitLab agent cannot be set up \(nothing was created\)/);
      assert.match(
        e.message,
        /flux branch: gitlab-eks:agent\.flux\.branch: branch "gitops" does not exist in platform\/clusters; .*Fix: create the branch in platform\/clusters, or pulumi config set --path 'gitlab-eks:agent\.flux\.branch' main \(the project's default branch\)/,
      );
      return true;
    });
    // Created by hand (POST /projects/:id/repository/branches), the same stack deploys and commits there.
    const res = await fetch(`${world.fake.url}/api/v4/projects/${world.clustersId}/repository/branches`, {
      method: "POST",
      headers: { "PRIVATE-TOKEN": world.maintainerToken, "Content-Type": "application/json" },
      body: JSON.stringify({ branch: "gitops", ref: "main" }),
    });
    assert.equal(res.status, 201);
    const { mocks } = await deployUnderMocks(world, "production", config);
    const [repo] = mocks.ofType(GIT_REPOSITORY);
    assert.deepEqual(repo.inputs.spec.ref, { branch: "gitops" });
  });
});

describe("installMethod helm stays as it was", () => {
  let world: GitlabWorld;
  before(async () => {
    world = await gitlabWorld({ instance: { version: "18.5.1-ee", kas: { version: "18.5.1" } } });
  });
  after(() => world.fake.close());

  for (const stack of ["dev", "staging"]) {
    it(`example stack "${stack}": the agent's release, and nothing of Flux`, async () => {
      const config = exampleConfig(stack);
      assert.equal(config.agents[0].installMethod, "helm");
      const { mocks, deployed } = await deployUnderMocks(world, stack, config);
      assert.equal(releases(mocks, "gitlab-agent").length, 1);
      assert.deepEqual(releases(mocks, "flux2"), []);
      assert.deepEqual([...mocks.ofType(GIT_REPOSITORY), ...mocks.ofType(KUSTOMIZATION)], []);
      assert.ok(
        mocks.ofType("kubernetes:core/v1:Namespace").every((n) => n.inputs.metadata.name !== "flux-system"),
      );
      assert.equal(deployed.agents[0].flux, undefined);
      assert.deepEqual(mocks.ofType(`${DYNAMIC}FluxDeployToken`), []);
      const env = mocks.one(`${DYNAMIC}AgentEnvironment`, "gitlab-agent-environment").inputs;
      assert.equal(env.fluxResourcePath, undefined);
    });
  }
});
