/**
 * Several agents per cluster (`gitlab-eks:agents`) in the Pulumi program, under mocks with the preflight
 * against the fake GitLab: every resource of every agent, by name and inputs; each agent's resources
 * named apart; the namespaces and Flux's release created once; the shorthand's names as they always were,
 * and the first `agents` entry aliased to them so moving `gitlab-eks:agent` there replaces nothing.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { AgentConfig } from "../infra/config/agent";
import type { StackConfig } from "../infra/config/types";
import { fluxDeployTokenName } from "../infra/gitlab/deployTokens";
import { ownerOf } from "../infra/gitlab/ownership";
import { agentAccessNamespaces, agentConfigFile, agentRbac, agentTokenName } from "../infra/model/agent";
import { fluxClusterObjects, fluxGitSecretName, fluxResourcePath } from "../infra/model/flux";
import { desiredNodePools } from "../infra/model/nodePools";
import { deployUnderMocks, exampleConfig, exampleConfigWithAgents } from "./support/deploy";
import { exposedReceptiveUrl, receptiveService } from "../infra/model/agentReceptive";
import { GitlabWorld, selfManagedEeWorld } from "./support/gitlab-world";
import {
  MOCK_AGENT_TOKEN,
  MOCK_DEPLOY_TOKEN,
  type RecordedResource,
  secretValue,
  valueOf,
} from "./support/pulumi-mocks";
import { canSchedule, type SchedPod } from "./support/scheduling";

const DYN = "pulumi-nodejs:dynamic/gitlab-eks:";
const SECRET = "kubernetes:core/v1:Secret";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const RBAC = "kubernetes:rbac.authorization.k8s.io/v1:";
const GIT_REPOSITORY = "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository";
const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";
const MANAGED = { "app.kubernetes.io/managed-by": "gitlab-eks" };

type Deployed = Awaited<ReturnType<typeof deployUnderMocks>>;
const key = (r: Pick<RecordedResource, "type" | "name">) => `${r.type}::${r.name}`;

/** [type, name without the agent's suffix, whether the suffix applies] of every resource an agent owns. */
function agentResources(a: AgentConfig): [string, string, boolean][] {
  const own: [string, string, boolean][] = [
    [`${DYN}RepositoryFile`, "gitlab-agent-config", true],
    [`${DYN}ClusterAgent`, "gitlab-agent", true],
    [`${DYN}AgentToken`, "gitlab-agent-token", true],
    [`${DYN}AgentEnvironment`, "gitlab-agent-environment", true],
    [SECRET, "gitlab-agent-token", true],
    // Named after the RBAC object, whose name carries the agent's.
    ...agentRbac(a).map((o, i): [string, string, boolean] => [
      `${RBAC}${o.kind}`,
      `agent-rbac-${i}-${o.kind.toLowerCase()}-${o.metadata.name}`,
      false,
    ]),
    [`${DYN}AgentTokenRetirement`, "gitlab-agent-token-retirement", true],
    // Receptive: the URL configuration in GitLab and, when exposed, the Service in front of agentk.
    ...(a.receptive
      ? [[`${DYN}ReceptiveUrl`, "gitlab-agent-receptive", true] as [string, string, boolean]]
      : []),
    ...(a.receptive && a.receptive.expose !== "none"
      ? [
          ["kubernetes:core/v1:Service", `gitlab-agent-receptive-${a.releaseName}`, true] as [
            string,
            string,
            boolean,
          ],
        ]
      : []),
  ];
  if (a.installMethod === "helm") return [...own, [RELEASE, `gitlab-agent-${a.releaseName}`, true]];
  return [
    ...own,
    [`${DYN}FluxDeployToken`, "flux-deploy-token", true],
    [SECRET, "flux-git-secret", true],
    [`${DYN}FluxDeployTokenRetirement`, "flux-deploy-token-retirement", true],
    [`${DYN}RepositoryFile`, "flux-manifest-helmrepository", true],
    [`${DYN}RepositoryFile`, "flux-manifest-helmrelease", true],
    [GIT_REPOSITORY, `flux-gitrepository-gitlab-agent-${a.name}`, false],
    [KUSTOMIZATION, `flux-kustomization-gitlab-agent-${a.name}`, false],
  ];
}
const namesOf = (a: AgentConfig) =>
  agentResources(a).map(([type, name, suffixed]) => `${type}::${name}${suffixed ? a.resourceSuffix : ""}`);

/** The namespaces every agent needs (own, ciAccess and dashboard, Flux's), once each. */
function sharedNames(config: StackConfig): string[] {
  const namespaces = new Set(config.agents.flatMap((a) => [a.namespace, ...agentAccessNamespaces(a)]));
  const flux = config.agents.filter((a) => a.installMethod === "flux");
  if (flux.length) namespaces.add(flux[0].flux.namespace);
  return [
    ...[...namespaces].map((n) => `${NAMESPACE}::ns-${n}`),
    ...(flux.length ? [`${RELEASE}::flux`] : []),
  ];
}

describe("several agents per cluster in the Pulumi program", () => {
  let world: GitlabWorld;
  /** What the example stacks register without any agent, keyed type::name. */
  const withoutAgents = new Map<string, Set<string>>();
  before(async () => {
    world = await selfManagedEeWorld();
    // The flux branch must exist in every agent project (the preflight checks it).
    for (const stack of ["dev", "production"]) {
      const { mocks } = await deployUnderMocks(world, stack, { ...exampleConfig(stack), agents: [] });
      withoutAgents.set(stack, new Set(mocks.resources.map(key)));
    }
  });
  after(() => world.fake.close());

  async function deploy(stack: string, config: StackConfig) {
    const d = await deployUnderMocks(world, stack, config);
    const base = withoutAgents.get(stack)!;
    return { ...d, agentsOnly: d.mocks.resources.filter((r) => !base.has(key(r))) };
  }

  /** Exactly the resources of the agents and what they share, each registered once. */
  function assertExactly(config: StackConfig, recorded: RecordedResource[]) {
    const expected = [...sharedNames(config), ...config.agents.flatMap(namesOf)];
    assert.equal(new Set(expected).size, expected.length, "no two resources share a name");
    assert.deepEqual(recorded.map(key).sort(), expected.sort());
  }

  /** The agent's values place every agentk pod on the system pool only. */
  function assertOnSystemPool(config: StackConfig, values: SchedPod) {
    const nodes = desiredNodePools(config).map((p) => ({ name: p.role, labels: p.labels, taints: p.taints }));
    assert.deepEqual(
      nodes.filter((n) => canSchedule(values, n)).map((n) => n.name),
      ["system"],
    );
  }

  /** The inputs of every resource `a` owns (names from agentResources). */
  async function assertAgentInputs(config: StackConfig, d: Deployed, a: AgentConfig) {
    const { mocks } = d;
    const one = (type: string, name: string) => mocks.one(type, `${name}${a.resourceSuffix}`).inputs;
    const owner = ownerOf(config.project, config.stack);
    const target = { url: world.fake.url, tokenVariable: "GITLAB_TOKEN" };
    const gitlab = { target, project: a.project };

    const file = one(`${DYN}RepositoryFile`, "gitlab-agent-config");
    assert.deepEqual(
      [file.target, file.project, file.path, file.owner, file.agentName, file.adopt],
      [target, a.project, `.gitlab/agents/${a.name}/config.yaml`, owner, a.name, false],
    );
    assert.deepEqual(parse(file.content), agentConfigFile(a), "the agent's own config file");
    const agent = one(`${DYN}ClusterAgent`, "gitlab-agent");
    assert.deepEqual(
      { target: agent.target, project: agent.project, name: agent.name, owner: agent.owner },
      { ...gitlab, name: a.name, owner },
    );
    const token = one(`${DYN}AgentToken`, "gitlab-agent-token");
    assert.deepEqual(
      [token.project, token.agentId, token.name, token.owner],
      [a.project, 42, agentTokenName(config.stack, a), owner],
    );
    const env = one(`${DYN}AgentEnvironment`, "gitlab-agent-environment");
    assert.deepEqual(
      [env.project, env.name, env.tier, env.clusterAgentId, env.kubernetesNamespace, env.fluxResourcePath],
      [
        a.project,
        a.environment.name,
        a.environment.tier,
        42,
        a.environment.kubernetesNamespace,
        a.installMethod === "flux" ? fluxResourcePath(a) : undefined,
      ],
    );
    const retirement = one(`${DYN}AgentTokenRetirement`, "gitlab-agent-token-retirement");
    assert.deepEqual(
      [retirement.project, retirement.agentId, retirement.keepTokenId, retirement.owner],
      [a.project, 42, 7, owner],
    );

    const secret = one(SECRET, "gitlab-agent-token");
    assert.deepEqual(secret.metadata, {
      name: a.tokenSecretName,
      namespace: a.namespace,
      labels: { ...MANAGED, "gitlab-eks/agent": a.name },
      annotations: { "gitlab-eks/agent-token-id": "7" },
    });
    assert.deepEqual(secretValue(secret.stringData), { token: MOCK_AGENT_TOKEN });

    agentRbac(a).forEach((o, i) => {
      const r = mocks.one(`${RBAC}${o.kind}`, `agent-rbac-${i}-${o.kind.toLowerCase()}-${o.metadata.name}`);
      assert.deepEqual(r.inputs.metadata, o.metadata);
      assert.deepEqual(
        [r.inputs.roleRef, r.inputs.subjects, r.inputs.rules],
        [o.roleRef, o.subjects, o.rules],
      );
    });

    if (a.installMethod === "helm") {
      const release = one(RELEASE, `gitlab-agent-${a.releaseName}`);
      assert.deepEqual(
        [release.chart, release.version, release.name, release.namespace, release.atomic],
        ["gitlab-agent", a.chartVersion, a.releaseName, a.namespace, true],
      );
      assert.equal(release.values.config.secretName, a.tokenSecretName);
      assert.equal(release.values.serviceAccount.name, a.releaseName);
      assertOnSystemPool(config, release.values);
      return;
    }

    const deployToken = one(`${DYN}FluxDeployToken`, "flux-deploy-token");
    assert.deepEqual(
      [deployToken.project, deployToken.name, deployToken.owner],
      [a.project, fluxDeployTokenName(owner, a.name, a.tokenRotation), owner],
    );
    const gitSecret = one(SECRET, "flux-git-secret");
    assert.deepEqual(gitSecret.metadata, {
      name: fluxGitSecretName(a),
      namespace: a.flux.namespace,
      labels: { ...MANAGED, "gitlab-eks/agent": a.name },
      annotations: { "gitlab-eks/deploy-token-id": "5" },
    });
    assert.deepEqual(secretValue(gitSecret.stringData), {
      username: "gitlab+deploy-token-5",
      password: MOCK_DEPLOY_TOKEN,
    });
    const deployRetirement = one(`${DYN}FluxDeployTokenRetirement`, "flux-deploy-token-retirement");
    assert.deepEqual(
      [
        deployRetirement.project,
        deployRetirement.keepTokenId,
        deployRetirement.owner,
        deployRetirement.agentName,
      ],
      [a.project, 5, owner, a.name],
    );
    const manifests = await valueOf(d.deployed.agents[a.index].flux!.manifests);
    for (const [kind, file] of [
      ["helmrepository", "gitlab-agent-helm-repository.yaml"],
      ["helmrelease", "gitlab-agent-helm-release.yaml"],
    ]) {
      const m = one(`${DYN}RepositoryFile`, `flux-manifest-${kind}`);
      const path = `${a.flux.manifestPath}/${file}`;
      assert.deepEqual(
        [m.project, m.path, m.branch, m.content, m.owner],
        [a.project, path, a.flux.branch, manifests[path], owner],
      );
    }
    const helmRelease = parse(manifests[`${a.flux.manifestPath}/gitlab-agent-helm-release.yaml`]);
    assert.deepEqual(
      [helmRelease.metadata.name, helmRelease.spec.releaseName, helmRelease.spec.targetNamespace],
      [a.releaseName, a.releaseName, a.namespace],
    );
    assert.equal(helmRelease.spec.values.config.secretName, a.tokenSecretName);
    assertOnSystemPool(config, helmRelease.spec.values);
    const [repo, kustomization] = fluxClusterObjects(a, world.fake.url);
    const gitRepository = mocks.one(GIT_REPOSITORY, `flux-gitrepository-gitlab-agent-${a.name}`);
    assert.deepEqual([gitRepository.inputs.metadata, gitRepository.inputs.spec], [repo.metadata, repo.spec]);
    assert.equal(
      (repo.spec.secretRef as { name: string }).name,
      fluxGitSecretName(a),
      "the agent's own deploy-token Secret",
    );
    assert.ok(
      mocks
        .dependenciesOf(GIT_REPOSITORY, gitRepository.name)
        .includes(`${SECRET}::flux-git-secret${a.resourceSuffix}`),
      "the GitRepository waits for its own Secret",
    );
    const applied = mocks.one(KUSTOMIZATION, `flux-kustomization-gitlab-agent-${a.name}`);
    assert.deepEqual(
      [applied.inputs.metadata, applied.inputs.spec],
      [kustomization.metadata, kustomization.spec],
    );
  }

  /** Each namespace once, labelled with the first agent that lives in it (if any). */
  function assertNamespaces(config: StackConfig, recorded: RecordedResource[]) {
    for (const r of recorded.filter((x) => x.type === NAMESPACE)) {
      const name = r.inputs.metadata.name;
      assert.equal(r.name, `ns-${name}`);
      const home = config.agents.find((a) => a.namespace === name);
      assert.deepEqual(
        r.inputs.metadata.labels,
        home ? { ...MANAGED, "gitlab-eks/agent": home.name } : MANAGED,
      );
    }
  }

  describe("a helm agent and a flux agent in different projects", () => {
    let config: StackConfig;
    let d: Deployed & { agentsOnly: RecordedResource[] };
    before(async () => {
      config = exampleConfigWithAgents(
        "production",
        [{}, { name: "apps", project: "platform/apps", installMethod: "helm" }],
        { shorthand: true },
      );
      d = await deploy("production", config);
    });

    it("registers exactly each agent's resources, named apart, and the shared ones once", () => {
      assert.deepEqual(
        config.agents.map((a) => [a.name, a.project, a.installMethod, a.resourceSuffix]),
        [
          ["production", "platform/clusters", "flux", "-production"],
          ["apps", "platform/apps", "helm", "-apps"],
        ],
      );
      assertExactly(config, d.agentsOnly);
      assertNamespaces(config, d.agentsOnly);
    });

    it("gives each agent its own GitLab objects, token Secret, RBAC and install, with the inputs of its settings", async () => {
      for (const a of config.agents) await assertAgentInputs(config, d, a);
    });

    it("outputs every agent, and the first as agentName/agentId/agentProject", async () => {
      const outputs = d.deployed.outputs;
      assert.equal(await valueOf(outputs.agentId!), 42);
      assert.deepEqual([outputs.agentName, outputs.agentProject], ["production", "platform/clusters"]);
      const agents = await valueOf(pulumi.output(outputs.agents));
      assert.deepEqual(agents, {
        production: {
          id: 42,
          project: "platform/clusters",
          namespace: "gitlab-agent",
          releaseName: "gitlab-agent",
          receptiveUrl: undefined,
        },
        apps: {
          id: 42,
          project: "platform/apps",
          namespace: "gitlab-agent-apps",
          releaseName: "gitlab-agent-apps",
          receptiveUrl: undefined,
        },
      });
    });
  });

  describe("two flux agents in one project", () => {
    let config: StackConfig;
    let d: Deployed & { agentsOnly: RecordedResource[] };
    before(async () => {
      config = exampleConfigWithAgents(
        "production",
        [{}, { name: "apps", installMethod: "flux", environment: { kubernetesNamespace: "apps" } }],
        { shorthand: true },
      );
      d = await deploy("production", config);
    });

    it("installs Flux once, and gives each agent its own GitRepository, Kustomization, deploy token and Secret", async () => {
      assertExactly(config, d.agentsOnly);
      assert.equal(d.mocks.ofType(RELEASE).filter((r) => r.inputs.chart === "flux2").length, 1);
      assert.deepEqual(
        d.mocks.ofType(`${DYN}FluxDeployToken`).map((t) => [t.inputs.project, t.inputs.name]),
        [
          ["platform/clusters", "gitlab-eks flux production 2026-11 [gitlab-eks:gitlab-eks/production]"],
          ["platform/clusters", "gitlab-eks flux apps initial [gitlab-eks:gitlab-eks/production]"],
        ],
      );
      assert.deepEqual(
        d.mocks.ofType(GIT_REPOSITORY).map((r) => r.inputs.spec.secretRef.name),
        ["gitlab-agent-flux-deploy-token", "gitlab-agent-flux-deploy-token-apps"],
      );
      for (const a of config.agents) await assertAgentInputs(config, d, a);
    });

    it("commits each agent's manifests into its own folder, each HelmRelease naming its own token Secret", () => {
      const files = d.mocks.ofType(`${DYN}RepositoryFile`).map((f) => f.inputs.path);
      assert.deepEqual(files.sort(), [
        ".gitlab/agents/apps/config.yaml",
        ".gitlab/agents/production/config.yaml",
        ".gitlab/flux/gitlab-eks-production-apps/gitlab-agent-helm-release.yaml",
        ".gitlab/flux/gitlab-eks-production-apps/gitlab-agent-helm-repository.yaml",
        ".gitlab/flux/gitlab-eks-production/gitlab-agent-helm-release.yaml",
        ".gitlab/flux/gitlab-eks-production/gitlab-agent-helm-repository.yaml",
      ]);
    });
  });

  describe("two agents sharing a namespace, with overlapping ciAccess namespaces", () => {
    let config: StackConfig;
    let d: Deployed & { agentsOnly: RecordedResource[] };
    before(async () => {
      config = exampleConfigWithAgents(
        "dev",
        [
          {},
          {
            name: "apps",
            namespace: "gitlab-agent",
            ciAccess: { projects: [{ id: "platform/apps", defaultNamespace: "apps-dev" }] },
          },
        ],
        { shorthand: true },
      );
      d = await deploy("dev", config);
    });

    it("creates each namespace once, owned by the first agent living in it, and both releases in it", async () => {
      assert.deepEqual(
        config.agents.map((a) => [a.namespace, a.releaseName, a.tokenSecretName]),
        [
          ["gitlab-agent", "gitlab-agent", "gitlab-agent-token"],
          ["gitlab-agent", "gitlab-agent-apps", "gitlab-agent-apps-token"],
        ],
      );
      assertExactly(config, d.agentsOnly);
      assert.deepEqual(
        d.agentsOnly
          .filter((r) => r.type === NAMESPACE)
          .map((r) => r.name)
          .sort(),
        ["ns-apps-dev", "ns-gitlab-agent"],
      );
      assertNamespaces(config, d.agentsOnly);
      for (const a of config.agents) await assertAgentInputs(config, d, a);
      // Both agents' RBAC waits for the one namespace object.
      for (const a of config.agents)
        agentRbac(a).forEach((o, i) => {
          const name = `agent-rbac-${i}-${o.kind.toLowerCase()}-${o.metadata.name}`;
          const deps = d.mocks.dependenciesOf(`${RBAC}${o.kind}`, name);
          assert.ok(deps.includes(`${NAMESPACE}::ns-apps-dev`), name);
          assert.ok(deps.includes(`${NAMESPACE}::ns-gitlab-agent`), name);
        });
    });
  });

  describe("two receptive agents, each behind its own load balancer", () => {
    let config: StackConfig;
    let d: Deployed & { agentsOnly: RecordedResource[] };
    before(async () => {
      config = exampleConfigWithAgents("dev", [
        { name: "ops", receptive: { expose: "internal" } },
        { name: "apps", receptive: { expose: "internal" } },
      ]);
      d = await deploy("dev", config);
    });

    it("gives each agent its own Service (its namespace, its release's pods) and URL configuration from its address", async () => {
      assertExactly(config, d.agentsOnly);
      for (const a of config.agents) {
        const service = d.mocks.one(
          "kubernetes:core/v1:Service",
          `gitlab-agent-receptive-${a.releaseName}${a.resourceSuffix}`,
        ).inputs as {
          metadata: { name: string; namespace: string };
          spec: { type: string; selector: Record<string, string> };
        };
        const desired = receptiveService(a)!;
        assert.deepEqual(service.metadata.namespace, a.namespace);
        assert.deepEqual(service.spec, JSON.parse(JSON.stringify(desired.spec)));
        assert.equal(service.spec.type, "LoadBalancer");
        const url = d.mocks.one(`${DYN}ReceptiveUrl`, `gitlab-agent-receptive${a.resourceSuffix}`).inputs;
        assert.equal(url.project, a.project);
        assert.equal(
          url.url,
          exposedReceptiveUrl(
            `gitlab-agent-receptive-${a.releaseName}${a.resourceSuffix}-0123456789.elb.eu-west-1.amazonaws.com`,
          ),
        );
      }
      const [ops, apps] = config.agents.map((a) => receptiveService(a)!);
      assert.notDeepEqual(
        ops.spec.selector,
        apps.spec.selector,
        "each Service selects its own release's pods",
      );
    });
  });

  describe("moving gitlab-eks:agent into gitlab-eks:agents[0]", () => {
    for (const stack of ["dev", "production"])
      it(`example stack "${stack}": the shorthand keeps today's names; agents[0] has the same resources, inputs and aliases to those names`, async () => {
        const shorthand = await deploy(stack, exampleConfig(stack));
        const moved = exampleConfigWithAgents(stack, [{}], { shorthand: true });
        const [a] = moved.agents;
        assert.equal(a.resourceSuffix, `-${a.name}`);
        const listed = await deploy(stack, moved);

        // Today's names (as before gitlab-eks:agents), and no aliases on them.
        const today = TODAY[stack];
        assert.deepEqual(shorthand.agentsOnly.map(key).sort(), [...today].sort());
        for (const r of shorthand.agentsOnly) assert.deepEqual(shorthand.mocks.aliasesOf(r.type, r.name), []);

        // agents[0]: each resource is the shorthand's, under its suffixed name with an alias to the old one.
        const resources = agentResources(a);
        const renamed = new Map<string, string>();
        for (const [type, name, suffixed] of resources)
          renamed.set(`${type}::${name}${suffixed ? a.resourceSuffix : ""}`, `${type}::${name}`);
        assert.equal(listed.agentsOnly.length, shorthand.agentsOnly.length);
        for (const r of listed.agentsOnly) {
          const old = renamed.get(key(r)) ?? key(r);
          const before = shorthand.agentsOnly.find((s) => key(s) === old);
          assert.ok(before, `${key(r)} has no counterpart ${old}`);
          // Only the settings key GitLab-side refusals name differs (the provider's diff ignores it).
          const { configKey, ...inputs } = r.inputs as Record<string, unknown>;
          if (configKey !== undefined) assert.equal(configKey, a.configKey);
          assert.deepEqual(inputs, before.inputs, `${key(r)}: the same inputs as ${old}`);
          const aliases = listed.mocks.aliasesOf(r.type, r.name);
          assert.deepEqual(aliases, old === key(r) ? [] : [before.name], key(r));
        }
      });

    it("a second agents entry gets no aliases", async () => {
      const config = exampleConfigWithAgents("dev", [{}, { name: "apps" }], { shorthand: true });
      const d = await deploy("dev", config);
      for (const name of namesOf(config.agents[1])) {
        const [type, n] = name.split("::");
        assert.deepEqual(d.mocks.aliasesOf(type, n), [], name);
      }
    });
  });
});

/** The agent's resources of the example stacks before `gitlab-eks:agents` (commit da44317), type::name. */
const TODAY: Record<string, string[]> = {
  dev: [
    `${NAMESPACE}::ns-gitlab-agent`,
    `${NAMESPACE}::ns-apps-dev`,
    `${SECRET}::gitlab-agent-token`,
    `${RBAC}Role::agent-rbac-0-role-gitlab-agent-gitlab-eks-dev`,
    `${RBAC}RoleBinding::agent-rbac-1-rolebinding-gitlab-agent-gitlab-eks-dev`,
    `${RBAC}RoleBinding::agent-rbac-2-rolebinding-gitlab-agent-gitlab-eks-dev-ci-0`,
    `${RELEASE}::gitlab-agent-gitlab-agent`,
    `${DYN}RepositoryFile::gitlab-agent-config`,
    `${DYN}ClusterAgent::gitlab-agent`,
    `${DYN}AgentToken::gitlab-agent-token`,
    `${DYN}AgentEnvironment::gitlab-agent-environment`,
    `${DYN}AgentTokenRetirement::gitlab-agent-token-retirement`,
  ],
  production: [
    `${NAMESPACE}::ns-gitlab-agent`,
    `${NAMESPACE}::ns-apps`,
    `${NAMESPACE}::ns-flux-system`,
    `${SECRET}::gitlab-agent-token`,
    `${RBAC}Role::agent-rbac-0-role-gitlab-agent-production`,
    `${RBAC}RoleBinding::agent-rbac-1-rolebinding-gitlab-agent-production`,
    `${RBAC}RoleBinding::agent-rbac-2-rolebinding-gitlab-agent-production-dashboard`,
    `${RELEASE}::flux`,
    `${DYN}RepositoryFile::gitlab-agent-config`,
    `${DYN}ClusterAgent::gitlab-agent`,
    `${DYN}AgentToken::gitlab-agent-token`,
    `${DYN}AgentEnvironment::gitlab-agent-environment`,
    `${DYN}AgentTokenRetirement::gitlab-agent-token-retirement`,
    `${DYN}FluxDeployToken::flux-deploy-token`,
    `${SECRET}::flux-git-secret`,
    `${DYN}FluxDeployTokenRetirement::flux-deploy-token-retirement`,
    `${DYN}RepositoryFile::flux-manifest-helmrepository`,
    `${DYN}RepositoryFile::flux-manifest-helmrelease`,
    `${GIT_REPOSITORY}::flux-gitrepository-gitlab-agent-production`,
    `${KUSTOMIZATION}::flux-kustomization-gitlab-agent-production`,
  ],
};
