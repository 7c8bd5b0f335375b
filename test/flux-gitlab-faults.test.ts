/**
 * The GitLab side of `agent.installMethod: flux` through the faults real GitLab installations produce:
 * Flux's deploy token, the manifests committed into the agent project, and the environment linked to the
 * HelmRelease. Each case: the faulted run, a re-run with the state it left, then destroy; deploy tokens
 * and committed files counted on the fake, and no token value in any output. The real dynamic providers
 * and infra/gitlab run through gitbeaker over HTTP against the fake GitLab.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { repositoryFileProvider } from "../infra/cloud/gitlab/agentResources";
import {
  fluxDeployTokenProvider,
  fluxDeployTokenRetirementProvider,
} from "../infra/cloud/gitlab/fluxResources";
import { fluxDeployTokenName } from "../infra/gitlab/deployTokens";
import {
  agentObjects,
  assertFaultedRun,
  assertNoSecretIn as assertNoSecretIn_,
  destroyOf,
  FAULT_OWNER as OWNER,
  FAULT_PROJECT as PROJECT,
  FAULTS,
  faultTheLookup,
  faultWorld,
  LOOKUP_FAULTS,
  type Match,
  type StackObjects,
  pulumiUpOf,
  type State,
  OUTAGE_MESSAGE,
} from "./support/faults";

const DIR = ".gitlab/flux/prod";
const HEADER = `# Managed by gitlab-eks [gitlab-eks:${OWNER}] (cluster prod): pulumi up rewrites this file.\n`;
const FLUX_PATH = "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/gitlab-agent";
const manifest = (kind: string, tokenId: number) =>
  `${HEADER}apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: gitlab-agent\n  annotations:\n    gitlab-eks/agent-token-id: "${tokenId}"\n`;

describe("installMethod flux, GitLab side, through lost and ambiguous answers: faulted run, re-run, destroy", () => {
  const fw = faultWorld();

  /** The flux stack's GitLab objects in the program's order (the Kubernetes Secrets sit between). */
  const stack = (s: Record<string, State>, rotation = "initial"): StackObjects => {
    const file = (kind: string, name: string): StackObjects[number] => [
      name,
      repositoryFileProvider,
      () => ({
        target: fw.target,
        project: PROJECT,
        path: `${DIR}/${name}.yaml`,
        branch: "main",
        content: manifest(kind, s.token.outs.tokenId),
        commitMessage: `gitlab-eks: ${kind} of agent prod for Flux (stack production)`,
        retainOnDelete: false,
        owner: OWNER,
        adopt: false,
      }),
    ];
    const objects = agentObjects(fw, s, rotation, { fluxResourcePath: FLUX_PATH });
    return [
      objects.agent,
      objects.token,
      objects.environment,
      [
        "deployToken",
        fluxDeployTokenProvider,
        () => ({
          target: fw.target,
          project: PROJECT,
          name: fluxDeployTokenName(OWNER, "prod", rotation),
          owner: OWNER,
        }),
      ],
      // After the Secret FLUX_GIT_SECRET holds the deploy token in state.
      [
        "deployTokenRetirement",
        fluxDeployTokenRetirementProvider,
        () => ({
          target: fw.target,
          project: PROJECT,
          keepTokenId: s.deployToken.outs.tokenId,
          replacedTokenIds: s.deployToken.outs.replacedTokenIds,
          owner: OWNER,
          agentName: "prod",
        }),
      ],
      file("HelmRepository", "gitlab-agent-helm-repository"),
      file("HelmRelease", "gitlab-agent-helm-release"),
      // After the manifests are committed and the Kustomization is in place.
      objects.retirement,
    ];
  };

  const pulumiUp = (s: Record<string, State>, rotation?: string) =>
    pulumiUpOf(stack(s, rotation), s, fw.output);
  const destroy = (s: Record<string, State>) => destroyOf(stack(s), s);

  const deployTokens = () => fw.w.fake.state.deployTokens.filter((t) => !t.revoked);
  const manifestCommits = () =>
    fw.w.fake.commitsFor(fw.w.clustersId, "main").filter((c) => JSON.stringify(c).includes(DIR));

  function assertConverged(s: Record<string, State>) {
    assert.deepEqual(
      deployTokens().map((t) => [t.id, t.scopes]),
      [[s.deployToken.outs.tokenId, ["read_repository"]]],
      "one deploy token, read_repository, the one state holds",
    );
    assert.equal(s.deployToken.outs.username, deployTokens()[0].username);
    assert.equal(s.deployToken.outs.token, deployTokens()[0].token);
    for (const [name, kind] of [
      ["gitlab-agent-helm-repository", "HelmRepository"],
      ["gitlab-agent-helm-release", "HelmRelease"],
    ]) {
      const content = fw.w.fake.readFile(fw.w.clustersId, "main", `${DIR}/${name}.yaml`);
      assert.equal(content, manifest(kind, s.token.outs.tokenId));
      assert.equal(parse(content!).kind, kind, "the committed manifest parses");
      assert.equal(s[name].outs.adopted, false);
    }
    const [env] = fw.w.fake.state.environments;
    assert.equal(fw.w.fake.state.environments.length, 1);
    assert.deepEqual([env.fluxResourcePath, env.kubernetesNamespace], [FLUX_PATH, "apps"]);
    assert.deepEqual(
      fw.w.fake.state.agentTokens.filter((t) => t.status === "active").map((t) => t.id),
      [s.token.outs.tokenId],
    );
  }

  function assertDestroyed() {
    assert.equal(deployTokens().length, 0, "no deploy token left");
    assert.equal(fw.w.fake.state.deployTokens.length, 0, "deleted, not just revoked");
    for (const name of ["gitlab-agent-helm-repository", "gitlab-agent-helm-release"])
      assert.equal(fw.w.fake.readFile(fw.w.clustersId, "main", `${DIR}/${name}.yaml`), undefined);
    assert.equal(fw.w.fake.state.environments.length, 0);
  }

  const assertNoSecretIn = (s: Record<string, State>) =>
    assertNoSecretIn_(fw.w, fw.output, [s.token?.outs.token, s.deployToken?.outs.token]);

  /** [object, its create, whether it is created again (value lost) rather than found after a lost answer] */
  const CREATES: [string, Match, boolean][] = [
    ["deploy token", { method: "POST", pathPattern: /deploy_tokens$/ }, true],
    ["manifest file", { method: "POST", pathPattern: /repository\/files\/.*helm-release/ }, false],
    ["environment with its Flux path", { method: "POST", pathPattern: /environments$/ }, false],
  ];

  for (const [object, match, recreated] of CREATES)
    describe(`${object}: creating it`, () => {
      for (const fault of FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          fault.inject(fw.w.fake, match);
          assertFaultedRun(fw.w.fake, await pulumiUp(s), fault, recreated, match);
          if (recreated && !fault.failsTheRun) {
            const applied = fw.w.fake.requestsMatching(match).filter((r) => (r.applied ?? r.status) === 201);
            assert.ok(
              applied.length <= 2,
              "applied at most twice: the lost one (revoked) and one after the lookup",
            );
          }
          assert.equal(await pulumiUp(s), undefined, "the re-run converges");
          assertConverged(s);
          const commits = manifestCommits().length;
          assert.equal(commits, 2, "each manifest committed once");
          assert.equal(await pulumiUp(s), undefined);
          assert.equal(manifestCommits().length, commits, "no commit when nothing changed");
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  /**
   * The create answered 502 after GitLab applied it, then the lookup after it (the deploy tokens' list,
   * the manifest read back) faulted too: ridden out, or past every attempt the run fails; the re-run
   * converges on one deploy token and each manifest committed once, and destroy leaves none.
   */
  const LOOKUPS: [string, Match, Match][] = [
    [
      "deploy token",
      { method: "POST", pathPattern: /deploy_tokens$/ },
      { method: "GET", pathPattern: /deploy_tokens$/ },
    ],
    [
      "manifest file",
      { method: "POST", pathPattern: /repository\/files\/.*helm-release/ },
      { method: "GET", pathPattern: /repository\/files\/.*helm-release/ },
    ],
  ];
  for (const [object, post, lookup] of LOOKUPS)
    describe(`${object}: the lookup after its create was answered 502`, () => {
      for (const fault of LOOKUP_FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          faultTheLookup(fw.w.fake, post, lookup, fault);
          const failed = await pulumiUp(s);
          if (fault.failsTheRun) assert.match(String(failed?.message), OUTAGE_MESSAGE);
          else assert.equal(failed, undefined, String(failed?.message));
          assert.equal(fw.w.fake.pendingFaults(), 0, "the create and its lookup were both faulted");
          assert.equal(await pulumiUp(s), undefined, "the re-run converges");
          assertConverged(s);
          assert.equal(manifestCommits().length, 2, "each manifest committed once");
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  describe("rotation (agent.tokenRotation): the deploy token and the agent token", () => {
    for (const fault of FAULTS)
      it(fault.name, async () => {
        const s: Record<string, State> = {};
        assert.equal(await pulumiUp(s), undefined);
        const inUse = s.deployToken.outs.tokenId;
        const agentTokenInUse = s.token.outs.tokenId;
        const others = fw.w.fake.addDeployToken({ projectId: fw.w.clustersId, name: "someone else's" });
        fault.inject(fw.w.fake, { method: "POST", pathPattern: /deploy_tokens$/ });
        const failed = await pulumiUp(s, "2026-11");
        if (fault.failsTheRun) {
          assert.match(String(failed?.message), /Not resent/);
          assert.equal(s.deployToken.outs.tokenId, inUse, "state still holds the deploy token in use");
          assert.ok(
            deployTokens().some((t) => t.id === inUse),
            "the token Flux uses was not revoked",
          );
        } else assert.equal(failed, undefined, String(failed?.message));
        assert.equal(await pulumiUp(s, "2026-11"), undefined, "the re-run converges");
        assert.notEqual(s.deployToken.outs.tokenId, inUse);
        assert.notEqual(s.token.outs.tokenId, agentTokenInUse);
        // The HelmRelease committed names the new agent token: Flux rolls the pods onto it.
        assert.match(
          fw.w.fake.readFile(fw.w.clustersId, "main", `${DIR}/gitlab-agent-helm-release.yaml`)!,
          new RegExp(`agent-token-id: "${s.token.outs.tokenId}"`),
        );
        assert.deepEqual(
          deployTokens().map((t) => t.id),
          [others.id, s.deployToken.outs.tokenId],
          "the old deploy token revoked; another's never touched",
        );
        await destroy(s);
        assert.deepEqual(
          deployTokens().map((t) => t.id),
          [others.id],
          "destroy revokes only this stack's deploy tokens",
        );
        assertNoSecretIn(s);
      });
  });
});
