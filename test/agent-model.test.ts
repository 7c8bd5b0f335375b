import assert from "node:assert/strict";
import { tierOf } from "../infra/config/agent";
import { agentConfigFile, agentRbac, defaultImageTag, versionSkewProblem } from "../infra/model/agent";
import { configOf, minimal, problemsOf } from "./support/config";

const withAgent = (agent: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  minimal({ "gitlab-eks:agent": agent, ...extra });

function expectProblem(values: Record<string, unknown>, key: string, pattern: RegExp, stack = "dev") {
  const problems = problemsOf(values, stack);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.ok(problems[0].startsWith(`${key}: `), problems[0]);
  assert.match(problems[0], pattern);
  assert.match(problems[0], /Fix: /);
}

describe("agent config", () => {
  it("defaults: named after the cluster, least privilege, environment per stack with its tier", () => {
    const a = configOf(minimal(), "production").agents[0];
    assert.equal(a.name, "gitlab-eks-production");
    assert.equal(a.project, "platform/clusters");
    assert.deepEqual(
      [a.namespace, a.releaseName, a.rbac, a.replicas],
      ["gitlab-agent", "gitlab-agent", "least-privilege", 2],
    );
    assert.deepEqual(a.environment, {
      name: "production",
      tier: "production",
      kubernetesNamespace: "default",
    });
    assert.equal(configOf(minimal(), "staging").agents[0].environment.tier, "staging");
    assert.equal(tierOf("dev-eu"), "development");
    assert.equal(tierOf("review-42"), "other");
  });

  it("leaves container scanning off unless asked for, on any tier", () => {
    assert.equal(configOf(minimal(), "production").agents[0].containerScanning, false);
    assert.equal(
      configOf(withAgent({ containerScanning: true }), "production").agents[0].containerScanning,
      true,
    );
    const problems = problemsOf(withAgent({ containerScanning: "yes" }));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^gitlab-eks:agent\.containerScanning: /);
  });

  it("can be turned off", () => {
    const c = configOf({
      "aws:region": "eu-west-1",
      "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" },
      "gitlab-eks:agent": { enabled: false },
    });
    assert.deepEqual(c.agents, []);
  });

  it("refuses an invalid agent name (RFC 1123 label)", () => {
    expectProblem(
      withAgent({ name: "Prod_Cluster" }),
      "gitlab-eks:agent.name",
      /lowercase letters, digits and '-'/,
    );
    expectProblem(withAgent({ name: "a".repeat(64) }), "gitlab-eks:agent.name", /at most 63/);
  });

  it("refuses a missing agent project, saying how to disable the agent instead", () => {
    expectProblem(
      { "aws:region": "eu-west-1", "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" } },
      "gitlab-eks:gitlab.agentProject",
      /agent.enabled' false/,
    );
  });

  it("refuses cluster-admin for a production stack or tier", () => {
    expectProblem(
      withAgent({ rbac: "cluster-admin" }),
      "gitlab-eks:agent.rbac",
      /refused for a production stack/,
      "production",
    );
    expectProblem(
      withAgent({ rbac: "cluster-admin", environment: { tier: "production" } }),
      "gitlab-eks:agent.rbac",
      /tier production/,
      "ops",
    );
    assert.equal(configOf(withAgent({ rbac: "cluster-admin" }), "dev").agents[0].rbac, "cluster-admin");
  });

  it("refuses a KAS address with receptive mode, bad URLs, bad quantities and duplicates", () => {
    expectProblem(
      withAgent({ receptiveUrl: "grpcs://a.example.com", kasAddress: "wss://kas.example.com" }),
      "gitlab-eks:agent.kasAddress",
      /receptive agent does not connect to KAS/,
    );
    expectProblem(
      withAgent({ receptiveUrl: "https://a.example.com" }),
      "gitlab-eks:agent.receptiveUrl",
      /grpc:\/\/ or grpcs:\/\//,
    );
    expectProblem(withAgent({ kasAddress: "kas.example.com" }), "gitlab-eks:agent.kasAddress", /wss:\/\//);
    expectProblem(
      withAgent({ requests: { cpu: "lots" } }),
      "gitlab-eks:agent.requests.cpu",
      /"lots" is not a Kubernetes CPU quantity/,
    );
    expectProblem(
      withAgent({ limits: { memory: "1 GB" } }),
      "gitlab-eks:agent.limits.memory",
      /"1 GB" is not a Kubernetes memory quantity/,
    );
    expectProblem(
      withAgent({ ciAccess: { projects: [{ id: "g/a" }, { id: "g/a" }] } }),
      "gitlab-eks:agent.ciAccess.projects[1].id",
      /listed twice/,
    );
    expectProblem(withAgent({ imageTag: "latest" }), "gitlab-eks:agent.imageTag", /agentk image tag/);
    expectProblem(withAgent({ rbac: "admin" }), "gitlab-eks:agent.rbac", /least-privilege, cluster-admin/);
    expectProblem(
      withAgent({ ciAccess: { projects: [{ id: "g/a", accessAs: "impersonate" }] } }),
      "gitlab-eks:agent.ciAccess.projects[0].accessAs",
      /agent, ci_job/,
    );
  });

  it("refuses unknown agent keys with a suggestion", () => {
    expectProblem(withAgent({ replica: 3 }), "gitlab-eks:agent.replica", /did you mean replicas\?/);
  });
});

describe("agent model", () => {
  const agent = (a: Record<string, unknown>) => configOf(withAgent(a)).agents[0];

  it("writes the agent config file GitLab reads (ci_access, user_access)", () => {
    const file = agentConfigFile(
      agent({
        ciAccess: {
          projects: [{ id: "platform/apps", defaultNamespace: "apps", environments: ["production"] }],
          groups: [{ id: "platform", accessAs: "ci_job" }],
        },
        userAccess: { accessAs: "user", groups: ["platform"] },
      }),
    );
    assert.deepEqual(file, {
      ci_access: {
        projects: [
          {
            id: "platform/apps",
            default_namespace: "apps",
            access_as: { agent: {} },
            environments: ["production"],
          },
        ],
        groups: [{ id: "platform", access_as: { ci_job: {} } }],
      },
      user_access: { access_as: { user: {} }, groups: [{ id: "platform" }] },
    });
    assert.deepEqual(agentConfigFile(agent({})), {});
  });

  it("never binds cluster-admin unless asked, and impersonation only when used", () => {
    const least = agentRbac(agent({ ciAccess: { projects: [{ id: "g/a", defaultNamespace: "a" }] } }));
    assert.ok(least.every((o) => o.roleRef?.name !== "cluster-admin"));
    assert.ok(!least.some((o) => o.kind === "ClusterRole"));
    assert.deepEqual(
      least.filter((o) => o.roleRef?.name === "edit").map((o) => [o.kind, o.metadata.namespace]),
      [["RoleBinding", "a"]],
    );
    const admin = agentRbac(agent({ rbac: "cluster-admin" }));
    assert.deepEqual(
      admin.map((o) => [o.kind, o.roleRef?.name]),
      [["ClusterRoleBinding", "cluster-admin"]],
    );
  });

  it("applies GitLab's version skew: same minor, or one either side, across majors too", () => {
    assert.equal(versionSkewProblem("18.5.1-ee", "v18.5.0"), undefined);
    assert.equal(versionSkewProblem("18.5.1", "v18.4.9"), undefined);
    assert.equal(versionSkewProblem("18.5.1", "v18.6.0"), undefined);
    assert.match(versionSkewProblem("18.5.1", "v18.3.0") ?? "", /use v18\.4\.x, v18\.5\.x, v18\.6\.x/);
    assert.equal(versionSkewProblem("18.0.2", "v17.11.3"), undefined);
    assert.equal(versionSkewProblem("17.11.0", "v18.0.1"), undefined);
    assert.match(versionSkewProblem("18.0.0", "v17.10.0") ?? "", /v17\.11\.x, v18\.0\.x, v18\.1\.x/);
  });

  it("crosses every major boundary at that major's real last minor, not at .11", () => {
    // GitLab's release history: 12.10, 13.12, 14.10, 15.11, 16.11 and 17.11 were each followed by X.0.
    for (const [last, next] of [
      ["12.10", "13.0"],
      ["13.12", "14.0"],
      ["14.10", "15.0"],
      ["15.11", "16.0"],
      ["16.11", "17.0"],
      ["17.11", "18.0"],
    ]) {
      assert.equal(
        versionSkewProblem(`${last}.3`, `v${next}.1`),
        undefined,
        `GitLab ${last} with agent ${next}`,
      );
      assert.equal(
        versionSkewProblem(`${next}.2-ee`, `v${last}.0`),
        undefined,
        `GitLab ${next} with agent ${last}`,
      );
    }
    // One before the last minor is two releases from X.0; a minor past the last never existed.
    assert.match(versionSkewProblem("15.0.0", "v14.9.0") ?? "", /use v14\.10\.x, v15\.0\.x, v15\.1\.x$/);
    assert.match(versionSkewProblem("14.0.0", "v13.11.0") ?? "", /use v13\.12\.x, v14\.0\.x, v14\.1\.x$/);
    assert.match(versionSkewProblem("14.10.0", "v14.11.0") ?? "", /use v14\.9\.x, v14\.10\.x, v15\.0\.x$/);
    assert.equal(versionSkewProblem("13.12.0", "v13.11.0"), undefined);
    assert.match(versionSkewProblem("15.1.0", "v14.10.0") ?? "", /use v15\.0\.x, v15\.1\.x, v15\.2\.x$/);
  });

  it("does not assume where a major not yet finished will end", () => {
    // 18 (and later) is not over: any minor from .10 on may be its last, so X.0 fits next to it.
    for (const last of ["18.10", "18.11", "18.12"]) {
      assert.equal(versionSkewProblem(`${last}.0`, "v19.0.0"), undefined, last);
      assert.equal(versionSkewProblem("19.0.0", `v${last}.0`), undefined, last);
    }
    assert.match(
      versionSkewProblem("19.0.0", "v18.9.0") ?? "",
      /use the last v18 minor \(v18\.10\.x or later\), v19\.0\.x, v19\.1\.x$/,
    );
    assert.match(
      versionSkewProblem("18.11.0", "v19.1.0") ?? "",
      /use v18\.10\.x, v18\.11\.x, v18\.12\.x, v19\.0\.x$/,
    );
    assert.match(versionSkewProblem("18.5.0", "v19.0.0") ?? "", /use v18\.4\.x, v18\.5\.x, v18\.6\.x$/);
  });

  it("defaults the image tag to KAS's version, else GitLab's", () => {
    assert.equal(defaultImageTag("18.5.1", "18.5.2-ee"), "v18.5.1");
    assert.equal(defaultImageTag(null, "18.5.2-ee"), "v18.5.2");
    assert.equal(defaultImageTag(null, "unknown"), undefined);
  });
});
