import assert from "node:assert/strict";
import { configOf, minimal, problemsOf } from "./support/config";

const withAgents = (agents: unknown, extra: Record<string, unknown> = {}) =>
  minimal({ "gitlab-eks:agents": agents, ...extra });

/** Exactly these keys have problems, each message saying what to change. */
function expectProblems(values: Record<string, unknown>, expected: [string, RegExp][], stack = "dev") {
  const problems = problemsOf(values, stack);
  assert.equal(problems.length, expected.length, problems.join("\n"));
  for (const [key, pattern] of expected) {
    const p = problems.find((x) => x.startsWith(`${key}: `));
    assert.ok(p, `no problem for ${key} in:\n${problems.join("\n")}`);
    assert.match(p, pattern);
    assert.match(p, /Fix: /);
  }
}

describe("several agents (gitlab-eks:agents)", () => {
  it("the first entry has exactly the shorthand's configuration; the others have defaults of their own", () => {
    const shorthand = configOf(minimal(), "production").agents;
    const listed = configOf(withAgents([{}, { name: "apps", project: "apps/deploy" }]), "production").agents;
    assert.equal(listed.length, 2);
    const { configKey, resourceSuffix, ...first } = listed[0];
    const { configKey: k0, resourceSuffix: s0, ...alone } = shorthand[0];
    assert.deepEqual(first, alone, "same name, namespace, release, Secret, environment and Flux folder");
    assert.deepEqual(
      [configKey, resourceSuffix, k0, s0],
      ["gitlab-eks:agents[0]", "-gitlab-eks-production", "gitlab-eks:agent", ""],
    );

    const apps = listed[1];
    assert.deepEqual(
      [apps.configKey, apps.index, apps.resourceSuffix, apps.name, apps.project],
      ["gitlab-eks:agents[1]", 1, "-apps", "apps", "apps/deploy"],
    );
    assert.deepEqual(
      [apps.namespace, apps.releaseName, apps.tokenSecretName],
      ["gitlab-agent-apps", "gitlab-agent-apps", "gitlab-agent-apps-token"],
    );
    assert.deepEqual(apps.environment, {
      name: "production/apps",
      tier: "production",
      kubernetesNamespace: "default",
    });
    assert.equal(apps.flux.manifestPath, ".gitlab/flux/gitlab-eks-production-apps");
  });

  it("the shorthand's Secret stays gitlab-agent-token; tokenSecretName and releaseName set it", () => {
    assert.equal(configOf(minimal()).agents[0].tokenSecretName, "gitlab-agent-token");
    const a = configOf(
      withAgents([{ releaseName: "agentk" }, { name: "b", tokenSecretName: "b-secret" }]),
    ).agents;
    assert.deepEqual(
      a.map((x) => x.tokenSecretName),
      ["agentk-token", "b-secret"],
    );
  });

  it("skips a disabled entry, and a stack with agent.enabled false has no agent", () => {
    const a = configOf(withAgents([{}, { name: "off", enabled: false }, { name: "on" }])).agents;
    assert.deepEqual(
      a.map((x) => [x.name, x.configKey]),
      [
        ["gitlab-eks-dev", "gitlab-eks:agents[0]"],
        ["on", "gitlab-eks:agents[2]"],
      ],
    );
    assert.deepEqual(configOf(minimal({ "gitlab-eks:agent": { enabled: false } })).agents, []);
  });

  it("refuses agent and agents together, an empty list, a list too long and an entry that is not an object", () => {
    expectProblems(minimal({ "gitlab-eks:agent": { name: "a" }, "gitlab-eks:agents": [{}] }), [
      ["gitlab-eks:agents", /set together with gitlab-eks:agent/],
    ]);
    expectProblems(withAgents([]), [["gitlab-eks:agents", /empty list/]]);
    expectProblems(withAgents(Array.from({ length: 21 }, (_, i) => ({ name: `a${i}` }))), [
      ["gitlab-eks:agents", /at most 20/],
    ]);
    expectProblems(withAgents([{}, "apps"]), [["gitlab-eks:agents[1]", /must be an object of settings/]]);
  });

  it("reports every entry's own problems at once, under the entry's key", () => {
    expectProblems(
      withAgents([
        { replicas: 0 },
        { namespace: "Bad_NS" },
        { name: "x", rbac: "cluster-admin" },
        { name: "y", typo: 1 },
      ]),
      [
        ["gitlab-eks:agents[0].replicas", /at least 1/],
        ["gitlab-eks:agents[1].namespace", /RFC 1123|lowercase/],
        ["gitlab-eks:agents[1].name", /every agent after the first needs its own name/],
        ["gitlab-eks:agents[2].rbac", /production|cluster-admin/],
        ["gitlab-eks:agents[3].typo", /unknown setting/],
      ],
      "production",
    );
  });

  it("needs a project for each agent: its own, or gitlab.agentProject", () => {
    const values = {
      "aws:region": "eu-west-1",
      "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" },
      "gitlab-eks:agents": [{ project: "platform/agents" }, { name: "apps" }],
    };
    expectProblems(values, [["gitlab-eks:agents[1].project", /neither is gitlab-eks:gitlab.agentProject/]]);
  });

  it("refuses two agents with one name, even in different projects, naming both entries", () => {
    expectProblems(withAgents([{ name: "ops" }, { name: "ops", project: "other/project" }]), [
      ["gitlab-eks:agents[1].name", /the name ops.*RBAC objects.*as gitlab-eks:agents\[0\] has/],
    ]);
  });

  it("refuses one namespace + release, one namespace + token Secret, one environment in a project", () => {
    expectProblems(
      withAgents([
        {},
        { name: "b", namespace: "gitlab-agent", releaseName: "gitlab-agent" },
        { name: "c", namespace: "gitlab-agent", releaseName: "c", tokenSecretName: "gitlab-agent-token" },
        { name: "d", environment: { name: "dev" } },
      ]),
      [
        [
          "gitlab-eks:agents[1].releaseName",
          /Helm release gitlab-agent in namespace gitlab-agent, as gitlab-eks:agents\[0\]/,
        ],
        // agents[1]'s default token Secret (<releaseName>-token) clashes too; changing the release fixes both.
        ["gitlab-eks:agents[2].tokenSecretName", /token Secret gitlab-agent-token in namespace gitlab-agent/],
        ["gitlab-eks:agents[3].environment.name", /environment dev of project platform\/clusters/],
      ],
    );
    // Another project may have an environment of the same name.
    assert.equal(
      configOf(withAgents([{}, { name: "d", project: "apps/deploy", environment: { name: "dev" } }])).agents
        .length,
      2,
    );
  });

  it("with Flux: one Flux per cluster, one HelmRelease name, folders that do not overlap", () => {
    expectProblems(
      withAgents([
        { installMethod: "flux" },
        { name: "b", installMethod: "flux", flux: { namespace: "flux", chartVersion: "2.18.0" } },
        { name: "c", installMethod: "flux", namespace: "other", releaseName: "gitlab-agent" },
        { name: "e", installMethod: "flux", flux: { manifestPath: ".gitlab/flux/gitlab-eks-dev/e" } },
      ]),
      [
        ["gitlab-eks:agents[1].flux.namespace", /one Flux/],
        ["gitlab-eks:agents[1].flux.chartVersion", /one Flux/],
        ["gitlab-eks:agents[2].releaseName", /HelmRelease in Flux's namespace/],
        ["gitlab-eks:agents[3].flux.manifestPath", /overlaps gitlab-eks:agents\[0\]\.flux\.manifestPath/],
      ],
    );
    // The same folder in another project is that project's own.
    const ok = configOf(
      withAgents([
        { installMethod: "flux" },
        {
          name: "b",
          installMethod: "flux",
          project: "apps/deploy",
          flux: { manifestPath: ".gitlab/flux/gitlab-eks-dev" },
        },
      ]),
    );
    assert.equal(ok.agents.length, 2);
  });

  it("checks a defaulted release name against Helm's 53 characters", () => {
    const name = "a".repeat(45);
    expectProblems(withAgents([{}, { name }]), [
      ["gitlab-eks:agents[1].releaseName", /is not set and the default .* 53/],
    ]);
  });
});
