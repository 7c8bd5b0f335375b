/**
 * The GitLab agent in the Pulumi program, under mocks and against the fake GitLab: what it registers in
 * GitLab and in the cluster, and that a failed preflight creates nothing.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { AgentConfig } from "../infra/config/agent";
import type { StackConfig } from "../infra/config/types";
import { deployUnderMocks, exampleConfig } from "./support/deploy";
import { gitlabWorld, GitlabWorld, selfManagedEeWorld } from "./support/gitlab-world";
import { MOCK_AGENT_TOKEN, RecordingMocks, secretValue } from "./support/pulumi-mocks";

const DYN = "pulumi-nodejs:dynamic/gitlab-eks:";
const RELEASE = "kubernetes:helm.sh/v3:Release";
/** The agent's release (the example stacks also install the runner's). */
const agentRelease = (mocks: RecordingMocks) => {
  const found = mocks.ofType(RELEASE).filter((r) => r.inputs.chart === "gitlab-agent");
  assert.equal(found.length, 1, "one gitlab-agent release");
  return found[0];
};

/**
 * The agent's chart as installed: the direct release's inputs, or (installMethod flux) the committed
 * HelmRelease and HelmRepository: [chart, version, repository, namespace, release name] and the values.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function agentChart(mocks: RecordingMocks): { installed: unknown[]; values: any } {
  const committed = (name: string) =>
    mocks.ofType(`${DYN}RepositoryFile`).find((f) => f.name === name)?.inputs.content as string | undefined;
  const helmRelease = committed("flux-manifest-helmrelease");
  if (!helmRelease) {
    const r = agentRelease(mocks).inputs;
    return { installed: [r.chart, r.version, r.repositoryOpts.repo, r.namespace, r.name], values: r.values };
  }
  assert.deepEqual(
    mocks.ofType(RELEASE).filter((r) => r.inputs.chart === "gitlab-agent"),
    [],
  );
  const hr = parse(helmRelease).spec;
  const repo = parse(committed("flux-manifest-helmrepository")!).spec;
  return {
    installed: [hr.chart.spec.chart, hr.chart.spec.version, repo.url, hr.targetNamespace, hr.releaseName],
    values: hr.values,
  };
}

function withAgent(config: StackConfig, change: Partial<AgentConfig>): StackConfig {
  return { ...config, agents: [{ ...config.agents[0], ...change }] };
}

describe("GitLab agent in the Pulumi program", () => {
  let world: GitlabWorld;
  before(async () => {
    world = await selfManagedEeWorld();
  });
  after(() => world.fake.close());

  for (const stack of ["dev", "staging", "production"]) {
    describe(`example stack "${stack}"`, () => {
      let config: StackConfig;
      let agent: AgentConfig;
      let mocks: RecordingMocks;
      before(async () => {
        config = exampleConfig(stack);
        agent = config.agents[0];
        ({ mocks } = await deployUnderMocks(world, stack, config));
      });

      it("registers the agent, a token, its config file and its environment as GitLab objects", () => {
        const registered = mocks.ofType(`${DYN}ClusterAgent`);
        assert.equal(registered.length, 1);
        const i = registered[0].inputs;
        assert.deepEqual(i.target, { url: world.fake.url, tokenVariable: "GITLAB_TOKEN" });
        assert.deepEqual([i.project, i.name, i.retainOnDelete], [agent.project, agent.name, false]);

        const owner = `${config.project}/${stack}`;
        assert.deepEqual([i.owner, i.adopt], [owner, false]);
        const token = mocks.ofType(`${DYN}AgentToken`)[0].inputs;
        assert.deepEqual(
          [token.agentId, token.name, token.owner],
          [42, `gitlab-eks-${stack}-${agent.tokenRotation}`, owner],
        );
        assert.ok(token.description.endsWith(` [gitlab-eks:${owner}]`), token.description);
        const retirement = mocks.ofType(`${DYN}AgentTokenRetirement`);
        assert.equal(retirement.length, 1);
        assert.deepEqual(
          [retirement[0].inputs.agentId, retirement[0].inputs.owner, typeof retirement[0].inputs.keepTokenId],
          [42, owner, "number"],
        );

        const file = mocks.ofType(`${DYN}RepositoryFile`)[0].inputs;
        assert.equal(file.path, `.gitlab/agents/${agent.name}/config.yaml`);
        assert.ok(file.content.startsWith(`# Managed by gitlab-eks [gitlab-eks:${owner}]`), file.content);
        // production has no CI/CD workflow (validation refuses it there without allowCiAccessInProduction).
        if (stack === "production") assert.doesNotMatch(file.content, /ci_access:/);
        else assert.match(file.content, /ci_access:/);

        const env = mocks.ofType(`${DYN}AgentEnvironment`)[0].inputs;
        assert.deepEqual([env.name, env.tier, env.clusterAgentId], [stack, agent.environment.tier, 42]);
      });

      it("keeps the GitLab token out of every input, including the serialized providers", () => {
        const all = JSON.stringify(mocks.resources.map((r) => r.inputs));
        assert.ok(!all.includes(world.maintainerToken));
        for (const r of mocks.resources.filter((x) => x.type.startsWith(DYN)))
          assert.equal(typeof r.inputs.__provider, "string");
      });

      it("puts the agent token in our own Secret, and nowhere else", () => {
        const secret = mocks.one("kubernetes:core/v1:Secret", "gitlab-agent-token").inputs;
        assert.deepEqual(
          [secret.metadata.name, secret.metadata.namespace, secret.type],
          ["gitlab-agent-token", agent.namespace, "Opaque"],
        );
        assert.deepEqual(
          secretValue(secret.stringData),
          { token: MOCK_AGENT_TOKEN },
          "stringData travels as a Pulumi secret",
        );
        const elsewhere = mocks.resources.filter(
          (r) => r.name !== "gitlab-agent-token" && JSON.stringify(r.inputs).includes(MOCK_AGENT_TOKEN),
        );
        assert.deepEqual(
          elsewhere.map((r) => `${r.type} ${r.name}`),
          [],
        );
      });

      it("installs the pinned gitlab-agent chart with the token by secretName, KAS from GitLab, and its version (directly, or by the HelmRelease Flux applies)", () => {
        const { installed, values: v } = agentChart(mocks);
        assert.equal(agent.installMethod, stack === "production" ? "flux" : "helm");
        assert.deepEqual(installed, [
          "gitlab-agent",
          agent.chartVersion,
          "https://charts.gitlab.io",
          agent.namespace,
          agent.releaseName,
        ]);
        assert.equal(v.config.secretName, "gitlab-agent-token");
        assert.equal(v.config.token, undefined, "the token is never a Helm value");
        assert.equal(v.config.kasAddress, "wss://kas.gitlab.example.com");
        assert.equal(v.image.tag, "v18.5.1");
        assert.equal(v.replicas, agent.replicas);
        assert.deepEqual(v.rbac, { create: false });
        // The chart's default (true) would bind a ClusterRole reading secrets and nodes cluster-wide.
        assert.deepEqual(v.config.operational_container_scanning, { enabled: false });
        assert.equal(agent.containerScanning, false);
        assert.deepEqual(v.podAnnotations, { "gitlab-eks/agent-token-id": "7" });
        const term =
          v.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
            .matchExpressions[0];
        assert.deepEqual(term, {
          key: config.isolation.labelKey,
          operator: "NotIn",
          values: [config.isolation.labelValue],
        });
        assert.equal(v.tolerations, undefined, "agentk does not tolerate the runner taint");
      });

      it("grants least privilege: no cluster-admin, edit only in the ciAccess namespaces", () => {
        const crbs = mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
        assert.ok(crbs.every((b) => b.inputs.roleRef.name !== "cluster-admin"));
        const bindings = mocks
          .ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
          .filter((b) => b.name !== "headroom-scaler") // staging's headroom schedule (autoscaler-stack.test.ts)
          .map((b) => b.inputs);
        const ciNamespaces = [...agent.ciAccess.projects, ...agent.ciAccess.groups]
          .map((e) => e.defaultNamespace)
          .sort();
        const editIn = bindings
          .filter((b) => b.roleRef.name === "edit")
          .map((b) => b.metadata.namespace)
          .sort();
        assert.deepEqual(editIn, ciNamespaces);
        for (const b of bindings)
          assert.deepEqual(b.subjects, [
            { kind: "ServiceAccount", name: agent.releaseName, namespace: agent.namespace },
          ]);
        const namespaces = mocks
          .ofType("kubernetes:core/v1:Namespace")
          .filter((n) => n.name !== "runner") // the runner's own namespace (runner-stack.test.ts)
          .filter((n) => n.name !== "headroom") // the autoscaler's headroom (autoscaler-stack.test.ts)
          .map((n) => n.inputs.metadata.name)
          .sort();
        assert.deepEqual(
          namespaces,
          [
            ...new Set([
              ...(agent.installMethod === "flux" ? [agent.flux.namespace] : []),
              agent.namespace,
              ...ciNamespaces,
              ...(agent.userAccess ? [agent.environment.kubernetesNamespace] : []),
            ]),
          ].sort(),
        );
      });
    });
  }

  describe("options", () => {
    it("cluster-admin only when asked for (dev)", async () => {
      const { mocks } = await deployUnderMocks(
        world,
        "dev",
        withAgent(exampleConfig("dev"), { rbac: "cluster-admin" }),
      );
      const crbs = mocks
        .ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
        .map((b) => b.inputs.roleRef.name);
      assert.deepEqual(crbs, ["cluster-admin"]);
      assert.equal(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").length, 0);
    });

    it("container scanning only when asked for: the chart's scanner RBAC, and agentk's scanner pods", async () => {
      const role = (mocks: RecordingMocks) =>
        mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:Role").map((r) => r.inputs)[0];
      const direct = exampleConfig("production");
      const off = await deployUnderMocks(world, "production", direct);
      assert.deepEqual(agentChart(off.mocks).values.config.operational_container_scanning, {
        enabled: false,
      });
      assert.deepEqual(
        role(off.mocks).rules.flatMap((r: { resources: string[] }) => r.resources),
        ["leases", "events"],
      );
      const { mocks } = await deployUnderMocks(
        world,
        "production",
        withAgent(direct, { containerScanning: true }),
      );
      assert.deepEqual(agentChart(mocks).values.config.operational_container_scanning, {
        enabled: true,
      });
      // agentk runs the scanner pods in its own namespace only; the cluster-wide reads are the chart's.
      const own = role(mocks);
      assert.equal(own.metadata.namespace, exampleConfig("production").agents[0].namespace);
      assert.deepEqual(
        own.rules.filter((r: { resources: string[] }) => ["pods", "configmaps"].includes(r.resources[0])),
        [
          { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "delete"] },
          { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "delete"] },
        ],
      );
      assert.equal(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 0);
    });

    it("impersonates CI jobs (ci_job), binding GitLab's group for the project's numeric id", async () => {
      const config = withAgent(exampleConfig("dev"), {
        ciAccess: {
          projects: [{ id: "platform/apps", defaultNamespace: "apps-dev", accessAs: "ci_job" }],
          groups: [],
        },
      });
      const { mocks } = await deployUnderMocks(world, "dev", config);
      const imp = mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")[0].inputs;
      assert.deepEqual(imp.rules[0].verbs, ["impersonate"]);
      const edit = mocks
        .ofType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        .find((b) => b.inputs.roleRef.name === "edit")!;
      assert.deepEqual(edit.inputs.subjects, [
        { kind: "Group", name: `gitlab:project:${world.appsId}`, apiGroup: "rbac.authorization.k8s.io" },
      ]);
    });

    it("KAS CA, proxy, pinned image and replicas reach the values; the proxy as both spellings", async () => {
      const config = withAgent(exampleConfig("dev"), {
        kasCaCert: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        proxy: { httpsProxy: "http://proxy.internal:3128", noProxy: ".internal" },
        imageTag: "v18.4.2",
        replicas: 3,
      });
      const { mocks } = await deployUnderMocks(world, "dev", config);
      const v = agentRelease(mocks).inputs.values;
      assert.match(v.config.kasCaCert, /BEGIN CERTIFICATE/);
      assert.deepEqual(v.extraEnv, [
        { name: "HTTPS_PROXY", value: "http://proxy.internal:3128" },
        { name: "https_proxy", value: "http://proxy.internal:3128" },
        { name: "NO_PROXY", value: ".internal" },
        { name: "no_proxy", value: ".internal" },
      ]);
      assert.equal(v.image.tag, "v18.4.2");
      assert.equal(v.replicas, 3);
    });

    it("receptive mode: a URL configuration, the JWT public key, and no KAS address", async () => {
      const url = "grpcs://agent.dev.example.com:443";
      const config = withAgent(exampleConfig("dev"), {
        receptiveUrl: url,
        receptive: { url, expose: "none" },
      });
      const { mocks } = await deployUnderMocks(world, "dev", config);
      assert.equal(mocks.ofType(`${DYN}ReceptiveUrl`)[0].inputs.url, "grpcs://agent.dev.example.com:443");
      const v = agentRelease(mocks).inputs.values;
      assert.deepEqual(v.config.receptive, { enabled: true });
      assert.equal(v.config.api.jwtPublicKey, "MCowBQYDK2VwAyEAmockpublickey");
      assert.equal(v.config.kasAddress, undefined);
    });

    it("several agents per cluster: distinct release names and namespaces", async () => {
      const config = withAgent(exampleConfig("staging"), {
        name: "staging-apps",
        releaseName: "agent-apps",
        namespace: "gitlab-agent-apps",
      });
      const { mocks } = await deployUnderMocks(world, "staging", config);
      const r = agentRelease(mocks);
      assert.deepEqual(
        [r.name, r.inputs.name, r.inputs.namespace],
        ["gitlab-agent-agent-apps", "agent-apps", "gitlab-agent-apps"],
      );
      assert.equal(r.inputs.values.serviceAccount.name, "agent-apps");
    });
  });

  describe("a failed preflight creates nothing", () => {
    async function expectNothingCreated(
      config: StackConfig,
      env: Record<string, string>,
      ...messages: RegExp[]
    ) {
      await assert.rejects(deployUnderMocks(world, "dev", config, env), (e: Error) => {
        assert.match(e.message, /The GitLab agent cannot be set up \(nothing was created\)/);
        for (const m of messages) assert.match(e.message, m);
        return true;
      });
    }

    it("without a token, or with only a CI job token", async () => {
      await expectNothingCreated(exampleConfig("dev"), {}, /token: .*GITLAB_TOKEN.*It is not set/);
      await expectNothingCreated(
        exampleConfig("dev"),
        { CI_JOB_TOKEN: world.jobToken },
        /Only CI_JOB_TOKEN is available/,
      );
    });

    it("with a token lacking the api scope, or a user below Maintainer", async () => {
      await expectNothingCreated(
        exampleConfig("dev"),
        { GITLAB_TOKEN: world.readOnlyToken },
        /token scopes: scopes: read_api; the agent APIs need the api scope/,
      );
      await expectNothingCreated(
        exampleConfig("dev"),
        { GITLAB_TOKEN: world.developerToken },
        /role on agent project: Developer on platform\/clusters; .*needs Maintainer/,
      );
    });

    it("when the agent project does not exist", async () => {
      const config = {
        ...exampleConfig("dev"),
        agents: [{ ...exampleConfig("dev").agents[0], project: "platform/missing" }],
      };
      await expectNothingCreated(
        config,
        { GITLAB_TOKEN: world.maintainerToken },
        /project platform\/missing was not found \(404\)/,
      );
    });

    it("when a pinned agent version is outside GitLab's skew, saying which fit", async () => {
      await expectNothingCreated(
        withAgent(exampleConfig("dev"), { imageTag: "v18.2.0" }),
        { GITLAB_TOKEN: world.maintainerToken },
        /agent version: gitlab-eks:agent.imageTag: agent v18.2.0 is outside GitLab's supported skew for GitLab 18.5.1-ee: use v18.4.x, v18.5.x, v18.6.x/,
      );
    });

    it("receptive mode on a Community Edition instance", async () => {
      const ce = await gitlabWorld({
        instance: { enterprise: false, version: "18.5.1", kas: { version: "18.5.1" } },
      });
      try {
        await assert.rejects(
          deployUnderMocks(
            ce,
            "dev",
            withAgent(exampleConfig("dev"), {
              receptiveUrl: "grpcs://agent.example.com",
              receptive: { url: "grpcs://agent.example.com", expose: "none" },
            }),
            {
              GITLAB_TOKEN: ce.maintainerToken,
            },
          ),
          /receptive mode: receptive agents need GitLab Ultimate \(Enterprise Edition\)/,
        );
        assert.equal(ce.fake.countMutatingRequests(), 0);
      } finally {
        await ce.fake.close();
      }
    });

    it("when KAS is disabled", async () => {
      const off = await gitlabWorld({
        instance: { kas: { enabled: false, externalUrl: null, version: null } },
      });
      try {
        await assert.rejects(
          deployUnderMocks(off, "dev", exampleConfig("dev"), { GITLAB_TOKEN: off.maintainerToken }),
          /KAS: KAS \(the GitLab agent server\) is disabled/,
        );
        assert.equal(off.fake.countMutatingRequests(), 0);
      } finally {
        await off.fake.close();
      }
    });
  });
});
