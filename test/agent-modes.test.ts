/**
 * The agent's modes: receptive agents with their TLS settings and the load balancer exposing agentk, and
 * the chart's RBAC choices (an existing service account, an existing role). Config rules, the model, the
 * Pulumi program under mocks, and the URL configuration against the fake GitLab.
 */
import assert from "node:assert/strict";
import { receptiveUrlProvider } from "../infra/cloud/gitlab/agentResources";
import { ensureAgent, ensureUrlConfiguration } from "../infra/gitlab/agents";
import { gitlabClient } from "../infra/gitlab/client";
import { resolveConnection } from "../infra/gitlab/connection";
import { agentAccessNamespaces, agentHelmValues, agentRbac } from "../infra/model/agent";
import { receptiveService } from "../infra/model/agentReceptive";
import { renderStack } from "../infra/model/render";
import { configOf, minimal, problemsOf } from "./support/config";
import { deployUnderMocks, exampleConfigWith } from "./support/deploy";
import { TLS_CERT } from "./support/fake-kube";
import { gitlabWorld, GitlabWorld, selfManagedEeWorld } from "./support/gitlab-world";
import type { RecordingMocks } from "./support/pulumi-mocks";

const CA = TLS_CERT.toString("utf8");
const withAgent = (agent: Record<string, unknown>) => minimal({ "gitlab-eks:agent": agent });
const agentOf = (agent: Record<string, unknown>, stack = "dev") =>
  configOf(withAgent(agent), stack).agents[0];
const FACTS = { kasAddress: "wss://kas.example.com", imageTag: "v18.5.1", tokenId: "7", jwtPublicKey: "PUB" };

function expectProblems(agent: Record<string, unknown>, expected: [string, RegExp][], stack = "dev") {
  const problems = problemsOf(withAgent(agent), stack);
  assert.equal(problems.length, expected.length, problems.join("\n"));
  expected.forEach(([key, pattern], i) => {
    assert.ok(problems[i].startsWith(`gitlab-eks:agent.${key}: `), problems[i]);
    assert.match(problems[i], pattern);
    assert.match(problems[i], /Fix: /);
  });
}

describe("agent modes: config", () => {
  it("receptive.url and its TLS settings; the older receptiveUrl still works", () => {
    const a = agentOf({
      receptive: { url: "grpcs://agent.example.com:443", caCert: CA, tlsHost: "agentk.internal" },
    });
    assert.deepEqual(a.receptive, {
      url: "grpcs://agent.example.com:443",
      caCert: CA,
      tlsHost: "agentk.internal",
      expose: "none",
    });
    assert.equal(a.receptiveUrl, "grpcs://agent.example.com:443");
    const old = agentOf({ receptiveUrl: "grpc://agent.example.com:8082" });
    assert.deepEqual(old.receptive, {
      url: "grpc://agent.example.com:8082",
      caCert: undefined,
      tlsHost: undefined,
      expose: "none",
    });
    assert.equal(agentOf({}).receptive, undefined, "outbound by default");
    // Both spellings agreeing is fine; disagreeing is refused.
    assert.equal(
      agentOf({ receptiveUrl: "grpc://a.example.com", receptive: { url: "grpc://a.example.com" } })
        .receptiveUrl,
      "grpc://a.example.com",
    );
    expectProblems({ receptiveUrl: "grpc://a.example.com", receptive: { url: "grpc://b.example.com" } }, [
      ["receptiveUrl", /receptive.url replaces it/],
    ]);
  });

  it("expose: a load balancer, internal unless asked, whose address becomes the URL", () => {
    const a = agentOf({ receptive: { expose: "internal" } });
    assert.deepEqual(a.receptive, {
      url: undefined,
      caCert: undefined,
      tlsHost: undefined,
      expose: "internal",
    });
    assert.equal(a.receptiveUrl, undefined);
    const open = agentOf({ receptive: { expose: "internet-facing", sourceRanges: ["203.0.113.0/24"] } });
    assert.deepEqual(
      [open.receptive!.expose, open.receptive!.sourceRanges],
      ["internet-facing", ["203.0.113.0/24"]],
    );
    expectProblems({ receptive: { expose: "public" } }, [
      ["receptive.expose", /none, internal, internet-facing/],
    ]);
  });

  it("refuses inconsistent receptive settings, each with its fix, all at once", () => {
    // TLS settings without receptive mode; a KAS address with it; TLS settings on plain grpc://.
    expectProblems({ receptive: { caCert: CA, tlsHost: "a.example.com" } }, [
      ["receptive.caCert", /not receptive/],
      ["receptive.tlsHost", /not receptive/],
    ]);
    expectProblems(
      {
        kasAddress: "wss://kas.example.com",
        receptive: { url: "grpc://a.example.com", tlsHost: "a.example.com" },
      },
      [
        ["kasAddress", /does not connect to KAS/],
        ["receptive.tlsHost", /plain grpc:\/\/ \(grpc:\/\/a.example.com\)/],
      ],
    );
    expectProblems({ receptive: { expose: "internal", caCert: CA } }, [
      ["receptive.caCert", /load balancer's address over plain grpc:\/\//],
    ]);
    // A TCP load balancer to agentk, which serves no TLS, cannot carry grpcs://.
    expectProblems({ receptive: { expose: "internal", url: "grpcs://agent.example.com:443" } }, [
      ["receptive.expose", /listens without TLS/],
    ]);
    expectProblems({ receptive: { url: "grpcs://a.example.com", caCert: "not a cert", tlsHost: "a b" } }, [
      ["receptive.caCert", /PEM certificate/],
      ["receptive.tlsHost", /host name/],
    ]);
    expectProblems({ receptive: { url: "grpcs://a.example.com/path" } }, [["receptive.url", /no path/]]);
  });

  it("an internet-facing load balancer only with source ranges, 0.0.0.0/0 said explicitly", () => {
    // Without sourceRanges (or with an empty list) anyone on the internet could reach agentk's plain gRPC port.
    for (const sourceRanges of [undefined, []])
      expectProblems(
        { receptive: { expose: "internet-facing", ...(sourceRanges ? { sourceRanges } : {}) } },
        [
          [
            "receptive.sourceRanges",
            new RegExp(
              `is ${sourceRanges ? "empty" : "not set"} while agent.receptive.expose is internet-facing: .*anyone on the internet .*port 8082.*` +
                `Fix: pulumi config set --path 'gitlab-eks:agent.receptive.sourceRanges\\[0\\]' <the CIDR block .*0\\.0\\.0\\.0/0`,
            ),
          ],
        ],
      );
    const anyone = agentOf({ receptive: { expose: "internet-facing", sourceRanges: ["0.0.0.0/0"] } });
    assert.deepEqual(anyone.receptive!.sourceRanges, ["0.0.0.0/0"]);
    // internal: optional, and restricts who in the VPC may connect.
    assert.equal(agentOf({ receptive: { expose: "internal" } }).receptive!.sourceRanges, undefined);
    assert.deepEqual(
      agentOf({ receptive: { expose: "internal", sourceRanges: ["10.20.0.0/16"] } }).receptive!.sourceRanges,
      ["10.20.0.0/16"],
    );
    // Every problem at once: a block with host bits, one that is not a CIDR, ranges with nothing to restrict.
    expectProblems({ receptive: { expose: "internet-facing", sourceRanges: ["203.0.113.7/24", "gitlab"] } }, [
      ["receptive.sourceRanges[0]", /host bits are set\); use 203\.0\.113\.0\/24/],
      ["receptive.sourceRanges[1]", /must be an IPv4 CIDR block/],
    ]);
    expectProblems({ receptive: { url: "grpc://a.example.com", sourceRanges: ["203.0.113.0/24"] } }, [
      ["receptive.sourceRanges", /expose is none, so there is no load balancer/],
    ]);
    expectProblems({ receptive: { expose: "internal", sourceRanges: ["0.0.0.0/0", "10.0.0.0/8"] } }, [
      ["receptive.sourceRanges", /every address\) with other blocks/],
    ]);
  });

  it("RBAC modes: least privilege by default; an existing service account or role only when named", () => {
    assert.equal(agentOf({}).rbac, "least-privilege");
    const sa = agentOf(
      { rbac: "existing-service-account", existingServiceAccount: "deployer" },
      "production",
    );
    assert.deepEqual(
      [sa.rbac, sa.existingServiceAccount, sa.existingRole],
      ["existing-service-account", "deployer", undefined],
    );
    const role = agentOf({ rbac: "existing-role", existingRole: "agent-deployer" }, "production");
    assert.deepEqual([role.rbac, role.existingRole], ["existing-role", "agent-deployer"]);
    expectProblems({ rbac: "existing-service-account" }, [["existingServiceAccount", /is not set/]]);
    expectProblems({ rbac: "existing-role" }, [["existingRole", /is not set/]]);
    expectProblems({ existingRole: "agent-deployer", existingServiceAccount: "x" }, [
      ["existingServiceAccount", /agent.rbac is least-privilege, which does not use it/],
      ["existingRole", /agent.rbac is least-privilege, which does not use it/],
    ]);
    expectProblems({ rbac: "existing-role", existingRole: "Not_A_Name" }, [
      ["existingRole", /Kubernetes object name/],
    ]);
  });

  it("production still refuses cluster-admin, however it is spelled", () => {
    expectProblems(
      { rbac: "existing-role", existingRole: "cluster-admin" },
      [["existingRole", /cluster-admin is refused for a production stack/]],
      "production",
    );
    expectProblems({ rbac: "cluster-admin" }, [["rbac", /refused for a production stack/]], "production");
    expectProblems({ rbac: "existing-role", existingRole: "cluster-admin" }, [
      ["existingRole", /agent.rbac cluster-admin spells explicitly/],
    ]);
  });
});

describe("agent modes: model", () => {
  it("the chart's RBAC values per mode, and the RBAC objects the stack adds", () => {
    const ci = { ciAccess: { projects: [{ id: "g/a", defaultNamespace: "apps" }] } };
    const values = (a: Record<string, unknown>) => {
      const v = agentHelmValues(configOf(withAgent(a)), agentOf(a), FACTS);
      return [v.rbac, v.serviceAccount];
    };
    assert.deepEqual(values(ci), [{ create: false }, { create: true, name: "gitlab-agent" }]);
    assert.deepEqual(
      values({ ...ci, rbac: "existing-service-account", existingServiceAccount: "deployer" }),
      [{ create: false }, { create: false, name: "deployer" }],
    );
    assert.deepEqual(values({ ...ci, rbac: "existing-role", existingRole: "agent-deployer" }), [
      { create: true, useExistingRole: "agent-deployer" },
      { create: true, name: "gitlab-agent" },
    ]);
    assert.ok(agentRbac(agentOf(ci)).length > 0);
    for (const mode of [
      { rbac: "existing-service-account", existingServiceAccount: "deployer" },
      { rbac: "existing-role", existingRole: "agent-deployer" },
    ]) {
      assert.deepEqual(agentRbac(agentOf({ ...ci, ...mode })), [], `${mode.rbac}: the stack adds no RBAC`);
      assert.deepEqual(agentAccessNamespaces(agentOf({ ...ci, ...mode })), []);
    }
  });

  it("receptive Helm values: the JWT key, the pinned API port, no KAS address", () => {
    const a = agentOf({ receptive: { expose: "internal" } });
    const v = agentHelmValues(configOf(withAgent({ receptive: { expose: "internal" } })), a, FACTS) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(v.config.receptive, { enabled: true });
    assert.deepEqual(v.config.api, { jwtPublicKey: "PUB", listenAddress: ":8082" });
    assert.deepEqual(v.service, { internalPort: 8082 });
    assert.equal(v.config.kasAddress, undefined);
    // The chart's own rule (templates/_helpers.tpl, gitlab-agent.validateApiPort) with receptive enabled:
    // listenAddress is host:port or :port, and its port equals service.internalPort, else helm fails.
    const listen = String(v.config.api.listenAddress);
    assert.ok(listen.includes(":"));
    assert.equal(listen.split(":").pop(), String(v.service.internalPort));
  });

  it("the exposing Service: an NLB, internal by default spelling, selecting the chart's pods", () => {
    assert.equal(receptiveService(agentOf({ receptive: { url: "grpc://a.example.com" } })), undefined);
    const internal = receptiveService(
      agentOf({ receptive: { expose: "internal" }, releaseName: "agent-b" }),
    )!;
    assert.deepEqual(internal.metadata.annotations, {
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
      "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
      "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    });
    assert.deepEqual(internal.spec.selector, {
      "app.kubernetes.io/name": "gitlab-agent",
      "app.kubernetes.io/instance": "agent-b",
    });
    assert.deepEqual(internal.spec.ports, [
      { name: "receptive-api", protocol: "TCP", port: 8082, targetPort: 8082 },
    ]);
    assert.equal(internal.spec.loadBalancerSourceRanges, undefined, "no ranges: the cloud's default");
    const open = receptiveService(
      agentOf({
        receptive: { expose: "internet-facing", sourceRanges: ["203.0.113.0/24", "198.51.100.0/24"] },
      }),
    )!;
    assert.deepEqual(open.spec.loadBalancerSourceRanges, ["203.0.113.0/24", "198.51.100.0/24"]);
    assert.equal(
      open.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"],
      "internet-facing",
    );
    assert.equal(
      open.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"],
      undefined,
    );
  });
});

describe("agent modes: render", () => {
  it("writes the exposing Service, and says when the stack adds no RBAC", () => {
    const exposed = renderStack(configOf(withAgent({ receptive: { expose: "internal" } })));
    assert.match(exposed["agent-receptive-service.yaml"], /grpc:\/\/<this load balancer's address>:8082/);
    assert.match(exposed["agent-receptive-service.yaml"], /aws-load-balancer-internal: "true"/);
    assert.equal(renderStack(configOf(withAgent({})))["agent-receptive-service.yaml"], undefined);
    const role = renderStack(configOf(withAgent({ rbac: "existing-role", existingRole: "agent-deployer" })));
    assert.match(
      role["agent-rbac.yaml"],
      /creates no RBAC objects; the chart binds .* ClusterRole agent-deployer/,
    );
    assert.match(role["agent-values.yaml"], /useExistingRole: agent-deployer/);
    const sa = renderStack(
      configOf(withAgent({ rbac: "existing-service-account", existingServiceAccount: "deployer" })),
    );
    assert.match(sa["agent-rbac.yaml"], /runs as service account deployer/);
  });
});

describe("agent modes: the Pulumi program", () => {
  let world: GitlabWorld;
  before(async () => {
    world = await selfManagedEeWorld();
  });
  after(() => world.fake.close());

  const deploy = (stack: string, agent: Record<string, unknown>) =>
    deployUnderMocks(world, stack, exampleConfigWith(stack, { agent }));
  const release = (mocks: RecordingMocks) =>
    mocks.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "gitlab-agent")!;
  const rbacKinds = (mocks: RecordingMocks) =>
    mocks.resources
      .filter((r) => r.type.startsWith("kubernetes:rbac.authorization.k8s.io/"))
      .map((r) => r.type);
  const services = (mocks: RecordingMocks) => mocks.ofType("kubernetes:core/v1:Service");

  it("expose: the load balancer's address becomes the URL configuration's URL", async () => {
    const { mocks, deployed } = await deploy("staging", {
      receptive: { expose: "internal", sourceRanges: ["10.20.0.0/16"] },
    });
    const [svc] = services(mocks);
    assert.equal(svc.inputs.spec.type, "LoadBalancer");
    assert.deepEqual(svc.inputs.spec.loadBalancerSourceRanges, ["10.20.0.0/16"]);
    assert.equal(svc.inputs.metadata.namespace, "gitlab-agent");
    assert.equal(
      svc.inputs.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-internal"],
      "true",
    );
    const url = `grpc://${svc.name}-0123456789.elb.eu-west-1.amazonaws.com:8082`;
    const configs = mocks.ofType("pulumi-nodejs:dynamic/gitlab-eks:ReceptiveUrl");
    assert.equal(configs.length, 1);
    assert.equal(configs[0].inputs.url, url);
    assert.equal(configs[0].inputs.caCert, undefined);
    const got = await new Promise((resolve) => deployed.agents[0].receptiveUrl!.apply(resolve));
    assert.equal(got, url);
    const output = await new Promise((resolve) =>
      (deployed.outputs.agentReceptiveUrl as unknown as { apply: (f: (v: unknown) => void) => void }).apply(
        resolve,
      ),
    );
    assert.equal(output, url, "the stack output");
    const v = release(mocks).inputs.values;
    assert.equal(v.config.api.jwtPublicKey, "MCowBQYDK2VwAyEAmockpublickey");
    assert.equal(v.config.kasAddress, undefined);
  });

  it("a given URL with TLS settings: sent to GitLab, and no load balancer", async () => {
    const { mocks } = await deploy("staging", {
      receptive: { url: "grpcs://agent.example.com:443", caCert: CA, tlsHost: "agentk.internal" },
    });
    assert.equal(services(mocks).length, 0);
    const [cfg] = mocks.ofType("pulumi-nodejs:dynamic/gitlab-eks:ReceptiveUrl");
    assert.deepEqual(
      [cfg.inputs.url, cfg.inputs.caCert, cfg.inputs.tlsHost],
      ["grpcs://agent.example.com:443", CA, "agentk.internal"],
    );
  });

  it("an existing service account: the chart creates none, the stack no RBAC (on production too)", async () => {
    // The direct install (production's example installs through Flux: the same values, committed).
    const { mocks } = await deploy("production", {
      installMethod: "helm",
      rbac: "existing-service-account",
      existingServiceAccount: "deployer",
    });
    const v = release(mocks).inputs.values;
    assert.deepEqual([v.rbac, v.serviceAccount], [{ create: false }, { create: false, name: "deployer" }]);
    assert.deepEqual(rbacKinds(mocks), []);
  });

  it("an existing role: the chart binds it, the stack adds no RBAC", async () => {
    const { mocks } = await deploy("production", {
      installMethod: "helm",
      rbac: "existing-role",
      existingRole: "agent-deployer",
    });
    const v = release(mocks).inputs.values;
    assert.deepEqual(v.rbac, { create: true, useExistingRole: "agent-deployer" });
    assert.deepEqual(v.serviceAccount, { create: true, name: "gitlab-agent" });
    assert.deepEqual(rbacKinds(mocks), []);
  });

  it("least privilege stays the default: our Role and bindings, the chart's RBAC off", async () => {
    const { mocks } = await deploy("production", { installMethod: "helm" });
    const v = release(mocks).inputs.values;
    assert.deepEqual(v.rbac, { create: false });
    assert.ok(rbacKinds(mocks).includes("kubernetes:rbac.authorization.k8s.io/v1:Role"));
  });
});

describe("agent modes: the URL configuration in GitLab", () => {
  let w: GitlabWorld;
  const PROJECT = "platform/clusters";
  const api = () =>
    gitlabClient(resolveConnection({ url: w.fake.url }, {}), { env: { GITLAB_TOKEN: w.maintainerToken } });
  beforeEach(async () => {
    w = await gitlabWorld();
    w.fake.state.instance.receptiveAgentsEnabled = true;
  });
  afterEach(() => w.fake.close());

  it("sends ca_cert Base64-encoded and tls_host; a re-run finds it; new TLS settings replace it", async () => {
    const a = api();
    const { agent } = await ensureAgent(a, PROJECT, "prod");
    const url = "grpcs://agent.example.com:443";
    const tls = { caCert: CA, tlsHost: "agentk.internal" };
    const first = await ensureUrlConfiguration(a, PROJECT, agent.id, url, { tls });
    assert.equal(first.created, true);
    const post = w.fake.requests.find((r) => r.method === "POST" && /url_configurations$/.test(r.path))!;
    assert.ok(post, "one POST");
    const [stored] = w.fake.state.urlConfigurations;
    assert.deepEqual([stored.caCert, stored.tlsHost, stored.url], [CA, "agentk.internal", url]);
    assert.ok(stored.publicKey, "JWT mode");
    assert.deepEqual([first.config.caCert, first.config.tlsHost], [CA, "agentk.internal"]);

    const again = await ensureUrlConfiguration(a, PROJECT, agent.id, url, { tls });
    assert.deepEqual([again.created, again.config.id], [false, first.config.id]);

    const changed = await ensureUrlConfiguration(a, PROJECT, agent.id, url, { tls: { caCert: CA } });
    assert.equal(changed.created, true);
    assert.notEqual(changed.config.id, first.config.id);
    assert.equal(w.fake.state.urlConfigurations.length, 1, "GitLab allows one: the old one is gone");
    assert.equal(w.fake.state.urlConfigurations[0].tlsHost, null);
  });

  it("an adopted agent's configuration with other TLS settings is refused, not replaced", async () => {
    const a = api();
    const { agent } = await ensureAgent(a, PROJECT, "prod");
    const url = "grpcs://agent.example.com:443";
    await ensureUrlConfiguration(a, PROJECT, agent.id, url, { tls: { tlsHost: "one.internal" } });
    await assert.rejects(
      ensureUrlConfiguration(a, PROJECT, agent.id, url, {
        agentOwned: false,
        tls: { tlsHost: "two.internal" },
      }),
      /adopted agent already has a URL configuration .* \(or with other TLS settings\)/,
    );
    assert.equal(w.fake.state.urlConfigurations[0].tlsHost, "one.internal");
  });

  it("GitLab refuses a CA that is not a certificate (the fake validates as GitLab's model does)", async () => {
    const a = api();
    const { agent } = await ensureAgent(a, PROJECT, "prod");
    await assert.rejects(
      ensureUrlConfiguration(a, PROJECT, agent.id, "grpcs://a.example.com", {
        tls: { caCert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" },
      }),
      /Ca cert must be a valid PEM certificate/,
    );
  });

  it("the resource: new TLS settings replace it (GitLab cannot edit one)", async () => {
    const olds = {
      project: PROJECT,
      agentId: 1,
      url: "grpcs://a.example.com",
      caCert: CA,
      tlsHost: "x.internal",
    };
    const same = await receptiveUrlProvider.diff!("1", olds, { ...olds });
    assert.equal(same.changes, false);
    for (const change of [{ caCert: undefined }, { tlsHost: "y.internal" }]) {
      const d = await receptiveUrlProvider.diff!("1", olds, { ...olds, ...change });
      assert.equal(d.changes, true);
      assert.ok(d.replaces && d.replaces.length > 0, JSON.stringify(d));
    }
  });
});
