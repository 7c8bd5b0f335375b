/**
 * `agent.installMethod`, `agent.flux.*` and `agent.allowCiAccessInProduction` as validation reads them,
 * and the Flux model: what is committed for Flux and what Flux needs in the cluster.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { ownerOf, ownersIn } from "../infra/gitlab/ownership";
import { agentHelmValues } from "../infra/model/agent";
import {
  agentFluxFiles,
  FLUX_GIT_SECRET,
  FLUX_GIT_SECRET_KEYS,
  fluxClusterObjects,
} from "../infra/model/flux";
import { configOf, minimal, problemsOf } from "./support/config";

const withAgent = (agent: Record<string, unknown>) => minimal({ "gitlab-eks:agent": agent });
const ciAccess = { projects: [{ id: "platform/apps", defaultNamespace: "apps" }] };
const facts = { kasAddress: "wss://kas.example.com", imageTag: "v18.5.1", tokenId: "7" };

describe("installMethod config", () => {
  it("defaults: helm, and for flux the manifest path glab uses for this cluster, main, flux-system, the pinned chart", () => {
    const a = configOf(minimal(), "staging").agents[0];
    assert.equal(a.installMethod, "helm");
    assert.deepEqual(a.flux, {
      manifestPath: ".gitlab/flux/gitlab-eks-staging",
      branch: "main",
      namespace: "flux-system",
      chartVersion: "2.19.0",
    });
    const set = configOf(
      withAgent({
        installMethod: "flux",
        flux: { manifestPath: "clusters/eu/", branch: "gitops", namespace: "flux", chartVersion: "2.18.1" },
      }),
    ).agents[0];
    assert.deepEqual(
      [set.installMethod, set.flux],
      ["flux", { manifestPath: "clusters/eu", branch: "gitops", namespace: "flux", chartVersion: "2.18.1" }],
    );
  });

  it("refuses an unknown method, a bad Flux namespace, chart version or manifest path, all at once; and an unknown flux setting", () => {
    const problems = problemsOf(
      withAgent({
        installMethod: "kubectl",
        flux: { namespace: "Flux_System", chartVersion: "latest", manifestPath: "../other" },
      }),
    );
    const keys = problems.map((p) => p.split(": ")[0]).sort();
    assert.deepEqual(keys, [
      "gitlab-eks:agent.flux.chartVersion",
      "gitlab-eks:agent.flux.manifestPath",
      "gitlab-eks:agent.flux.namespace",
      "gitlab-eks:agent.installMethod",
    ]);
    for (const p of problems) assert.match(p, /Fix: /);
    for (const path of ["/abs", "a/./b", "a/.."])
      assert.equal(problemsOf(withAgent({ flux: { manifestPath: path } })).length, 1, path);
    assert.match(
      problemsOf(withAgent({ flux: { manifestpath: "x" } })).join("\n"),
      /^gitlab-eks:agent\.flux\.manifestpath: unknown setting/,
    );
  });

  it("refuses a numeric agent project with flux: Flux clones by URL", () => {
    const problems = problemsOf(
      minimal({
        "gitlab-eks:gitlab": { agentProject: "1234" },
        "gitlab-eks:agent": { installMethod: "flux" },
      }),
    );
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^gitlab-eks:gitlab\.agentProject: is the numeric id 1234, .*Flux clones/);
    assert.match(
      problems[0],
      /Fix: pulumi config set --path 'gitlab-eks:gitlab.agentProject' <group\/project>/,
    );
    assert.deepEqual(problemsOf(minimal({ "gitlab-eks:gitlab": { agentProject: "1234" } })), []);
  });
});

describe("ciAccess on production", () => {
  it("is refused on a production stack or tier, with the docs' reason and both fixes", () => {
    for (const [stack, agent] of [
      ["production", { ciAccess }],
      ["prod-eu", { ciAccess }],
      ["review", { ciAccess, environment: { tier: "production" } }],
    ] as const) {
      const problems = problemsOf(withAgent(agent), stack);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(
        problems[0],
        /^gitlab-eks:agent\.ciAccess: grants CI\/CD jobs access to a production stack/,
      );
      assert.match(
        problems[0],
        /the CI\/CD workflow has a weaker security model: do not use it for production deployments; use the GitOps workflow \(Flux\)/,
      );
      assert.match(problems[0], /installMethod' flux/);
      assert.match(problems[0], /allowCiAccessInProduction' true/);
    }
  });

  it("is allowed with agent.allowCiAccessInProduction, and anywhere else", () => {
    const allowed = configOf(withAgent({ ciAccess, allowCiAccessInProduction: true }), "production");
    assert.equal(allowed.agents[0].ciAccess.projects.length, 1);
    assert.equal(configOf(withAgent({ ciAccess }), "staging").agents[0].ciAccess.projects.length, 1);
    assert.deepEqual(
      problemsOf(withAgent({ userAccess: { projects: ["platform/apps"] } }), "production"),
      [],
    );
  });
});

describe("Flux model", () => {
  const config = configOf(withAgent({ installMethod: "flux", releaseName: "agent-a", namespace: "agents" }));
  const agent = config.agents[0];

  it("commits a HelmRepository and a HelmRelease whose values are agentHelmValues, and nothing secret", () => {
    const files = agentFluxFiles(config, agent, facts);
    const dir = ".gitlab/flux/gitlab-eks-dev";
    assert.deepEqual(Object.keys(files).sort(), [
      `${dir}/gitlab-agent-helm-release.yaml`,
      `${dir}/gitlab-agent-helm-repository.yaml`,
    ]);
    const hr = parse(files[`${dir}/gitlab-agent-helm-release.yaml`]);
    assert.deepEqual(hr.spec.values, agentHelmValues(config, agent, facts));
    assert.deepEqual(
      [hr.metadata.name, hr.spec.releaseName, hr.spec.targetNamespace],
      ["agent-a", "agent-a", "agents"],
    );
    // Each file carries the stack's identity as infra/gitlab/ownership.ts reads it: this stack's to rewrite.
    for (const text of Object.values(files)) {
      assert.match(
        text,
        /^# Managed by gitlab-eks \[gitlab-eks:gitlab-eks\/dev\] \(cluster gitlab-eks-dev\)/,
      );
      assert.deepEqual(ownersIn(text), [ownerOf(config.project, config.stack)]);
    }
    for (const text of Object.values(files)) assert.doesNotMatch(text, /token:|password|glagent-/);
  });

  it("points the GitRepository at the project's clone URL, with the deploy token's Secret by name (username/password)", () => {
    const [repo, kustomization] = fluxClusterObjects(agent, "https://gitlab.example.com/");
    assert.equal(repo.spec.url, "https://gitlab.example.com/platform/clusters.git");
    assert.deepEqual(repo.spec.secretRef, { name: FLUX_GIT_SECRET });
    assert.deepEqual(FLUX_GIT_SECRET_KEYS, ["username", "password"]);
    assert.equal(kustomization.spec.path, "./.gitlab/flux/gitlab-eks-dev");
  });
});
