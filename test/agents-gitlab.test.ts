/**
 * Two agents of one stack in ONE project (`gitlab-eks:agents`, both installed through Flux), the GitLab
 * side through the real dynamic providers and infra/gitlab, over HTTP against the fake GitLab: each agent's
 * agent, token, environment, Flux deploy token and both retirements. Up, a re-run that changes nothing, a
 * rotation of one agent that leaves the other's tokens alone, a lost answer on the second agent's token
 * create, and destroy, counting the objects on the fake each time. The agents share the stack's identity
 * (owner) and the project: only the agent's name tells their tokens apart.
 */
import assert from "node:assert/strict";
import type { AgentConfig } from "../infra/config/agent";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  agentTokenRetirementProvider,
  clusterAgentProvider,
} from "../infra/cloud/gitlab/agentResources";
import {
  fluxDeployTokenProvider,
  fluxDeployTokenRetirementProvider,
} from "../infra/cloud/gitlab/fluxResources";
import { fluxDeployTokenName } from "../infra/gitlab/deployTokens";
import { agentTokenName } from "../infra/model/agent";
import {
  assertNoSecretIn,
  destroyOf,
  FAULT_OWNER as OWNER,
  FAULT_PROJECT as PROJECT,
  FAULTS,
  faultWorld,
  pulumiUpOf,
  type StackObjects,
  type State,
} from "./support/faults";

const STACK = "production";
const AGENTS = ["prod", "apps"] as const;
type Name = (typeof AGENTS)[number];

describe("two agents of one stack in one project, GitLab side: up, re-run, rotation, a lost answer, destroy", () => {
  const fw = faultWorld();

  /** One agent's GitLab objects in the program's order, keyed `<object>-<agent>` in state. */
  function agentStack(name: Name, s: Record<string, State>, rotation: string): StackObjects {
    const base = () => ({ target: fw.target, project: PROJECT, owner: OWNER });
    const agentId = () => s[`agent-${name}`].outs.agentId;
    return [
      [
        `agent-${name}`,
        clusterAgentProvider,
        () => ({ ...base(), name, retainOnDelete: false, adopt: false }),
      ],
      [
        `token-${name}`,
        agentTokenProvider,
        () => ({
          ...base(),
          agentId: agentId(),
          // Both agents' tokens have the same name (stack and rotation): each belongs to its own agent.
          name: agentTokenName(STACK, { tokenRotation: rotation } as AgentConfig),
          description: `gitlab-eks: cluster prod [gitlab-eks:${OWNER}]`,
        }),
      ],
      [
        `environment-${name}`,
        agentEnvironmentProvider,
        () => ({
          ...base(),
          name: name === "prod" ? STACK : `${STACK}/${name}`,
          tier: "production",
          clusterAgentId: agentId(),
          kubernetesNamespace: "apps",
          retainOnDelete: false,
        }),
      ],
      [
        `deployToken-${name}`,
        fluxDeployTokenProvider,
        () => ({ ...base(), name: fluxDeployTokenName(OWNER, name, rotation) }),
      ],
      [
        `deployTokenRetirement-${name}`,
        fluxDeployTokenRetirementProvider,
        () => ({
          ...base(),
          keepTokenId: s[`deployToken-${name}`].outs.tokenId,
          replacedTokenIds: s[`deployToken-${name}`].outs.replacedTokenIds,
          agentName: name,
        }),
      ],
      [
        `retirement-${name}`,
        agentTokenRetirementProvider,
        () => ({
          ...base(),
          agentId: agentId(),
          keepTokenId: s[`token-${name}`].outs.tokenId,
          replacedTokenIds: s[`token-${name}`].outs.replacedTokenIds,
        }),
      ],
    ];
  }

  const rotations = (r: Partial<Record<Name, string>> = {}) => ({ prod: "initial", apps: "initial", ...r });
  const stack = (s: Record<string, State>, r = rotations()): StackObjects =>
    AGENTS.flatMap((n) => agentStack(n, s, r[n]));
  const pulumiUp = (s: Record<string, State>, r = rotations()) => pulumiUpOf(stack(s, r), s, fw.output);

  const fake = () => fw.w.fake.state;
  const activeAgentTokens = (name: Name) =>
    fake().agentTokens.filter(
      (t) => t.agentId === fake().agents.find((a) => a.name === name)?.id && t.status === "active",
    );
  const activeDeployTokens = () => fake().deployTokens.filter((t) => !t.revoked);

  /** Each agent: one agent, one active token and one deploy token (those state holds), one environment. */
  function assertConverged(s: Record<string, State>) {
    assert.deepEqual(
      fake().agents.map((a) => [a.projectId, a.name]),
      AGENTS.map((n) => [fw.w.clustersId, n]),
    );
    for (const n of AGENTS) {
      assert.deepEqual(
        activeAgentTokens(n).map((t) => t.id),
        [s[`token-${n}`].outs.tokenId],
        `agent ${n}: the one token its state holds`,
      );
      assert.equal(s[`environment-${n}`].outs.clusterAgentId, s[`agent-${n}`].outs.agentId);
    }
    assert.deepEqual(
      activeDeployTokens()
        .map((t) => t.id)
        .sort(),
      AGENTS.map((n) => s[`deployToken-${n}`].outs.tokenId).sort(),
      "each agent's deploy token, and no other",
    );
    assert.equal(fake().environments.filter((e) => e.state === "available").length, 2);
  }

  function assertDestroyed() {
    assert.deepEqual(fake().agents, []);
    assert.deepEqual(
      fake().agentTokens.filter((t) => t.status === "active"),
      [],
    );
    assert.deepEqual(fake().deployTokens, [], "both deploy tokens deleted");
    assert.deepEqual(
      fake().environments.filter((e) => e.state === "available"),
      [],
    );
  }

  const secretsOf = (s: Record<string, State>) =>
    AGENTS.flatMap((n) => [s[`token-${n}`]?.outs.token, s[`deployToken-${n}`]?.outs.token]);

  it("up, a re-run that creates nothing, a rotation of one agent, destroy", async () => {
    const s: Record<string, State> = {};
    assert.equal(await pulumiUp(s), undefined);
    assertConverged(s);
    assert.notEqual(s["agent-prod"].outs.agentId, s["agent-apps"].outs.agentId);
    const someoneElses = fw.w.fake.addDeployToken({ projectId: fw.w.clustersId, name: "someone else's" });

    const posts = fw.w.fake.countRequests({ method: "POST" });
    const before = JSON.stringify(s);
    assert.equal(await pulumiUp(s), undefined, "the re-run");
    assert.equal(fw.w.fake.countRequests({ method: "POST" }), posts, "the re-run creates nothing");
    assert.equal(JSON.stringify(s), before, "and changes nothing in state");

    // Rotating apps: its agent token and deploy token are replaced, then the old ones revoked; prod's stay.
    const prodToken = s["token-prod"].outs.tokenId;
    const prodDeployToken = s["deployToken-prod"].outs.tokenId;
    const appsToken = s["token-apps"].outs.tokenId;
    const appsDeployToken = s["deployToken-apps"].outs.tokenId;
    assert.equal(await pulumiUp(s, rotations({ apps: "2026-12" })), undefined, "the rotation");
    assert.deepEqual(
      [s["token-prod"].outs.tokenId, s["deployToken-prod"].outs.tokenId],
      [prodToken, prodDeployToken],
    );
    assert.notEqual(s["token-apps"].outs.tokenId, appsToken);
    assert.notEqual(s["deployToken-apps"].outs.tokenId, appsDeployToken);
    assert.deepEqual(
      activeDeployTokens()
        .map((t) => t.id)
        .sort(),
      [someoneElses.id, prodDeployToken, s["deployToken-apps"].outs.tokenId].sort(),
      "apps' old deploy token revoked; prod's and someone else's untouched",
    );
    assert.equal(fake().agentTokens.find((t) => t.id === appsToken)?.status, "revoked");
    assert.equal(fake().agentTokens.find((t) => t.id === prodToken)?.status, "active");
    assert.equal(await pulumiUp(s, rotations({ apps: "2026-12" })), undefined);

    await destroyOf(stack(s, rotations({ apps: "2026-12" })), s);
    fw.w.fake.state.deployTokens = fw.w.fake.state.deployTokens.filter((t) => t.id !== someoneElses.id);
    assertDestroyed();
    assertNoSecretIn(fw.w, fw.output, secretsOf(s));
  });

  const AMBIGUOUS = ["answer lost after applying", "502 after applying", "answer lost twice"];
  for (const fault of FAULTS.filter((f) => AMBIGUOUS.includes(f.name)))
    it(`the second agent's token create: ${fault.name}; the re-run converges, destroy removes everything`, async () => {
      const s: Record<string, State> = {};
      const [prod, apps] = [agentStack("prod", s, "initial"), agentStack("apps", s, "initial")];
      // One `pulumi up`: prod's objects and apps' agent, then apps' token create meets the fault.
      assert.equal(await pulumiUpOf([...prod, apps[0]], s, fw.output), undefined);
      const match = {
        method: "POST",
        pathPattern: new RegExp(`/cluster_agents/${s["agent-apps"].outs.agentId}/tokens$`),
      };
      fault.inject(fw.w.fake, match);
      const failed = await pulumiUpOf(apps.slice(1), s, fw.output);
      if (fault.failsTheRun) assert.match(String(failed?.message), /Not resent/);
      else assert.equal(failed, undefined, String(failed?.message));
      assert.equal(fw.w.fake.pendingFaults(), 0, "the fault was met");
      const prodToken = s["token-prod"].outs.tokenId;

      assert.equal(await pulumiUp(s), undefined, "the re-run converges");
      assertConverged(s);
      assert.equal(s["token-prod"].outs.tokenId, prodToken, "prod's token untouched");
      // The token whose answer was lost is revoked (its value is gone); apps has one active token.
      const appsTokens = fake().agentTokens.filter((t) => t.agentId === s["agent-apps"].outs.agentId);
      assert.equal(appsTokens.length, fault.failsTheRun ? 3 : 2, "the lost ones, and the one in state");
      assert.equal(await pulumiUp(s), undefined);
      assertConverged(s);

      await destroyOf(stack(s), s);
      assertDestroyed();
      assertNoSecretIn(fw.w, fw.output, secretsOf(s));
    });

  // The object whose lifecycle is scoped by agent: the second agent's deploy token, in the project where
  // the first agent's already is. Its lookup after the ambiguous create must find apps' token, not prod's.
  for (const fault of FAULTS.filter((f) => AMBIGUOUS.includes(f.name)))
    it(`the second agent's deploy token create: ${fault.name}; the first agent's token untouched, destroy removes everything`, async () => {
      const s: Record<string, State> = {};
      const [prod, apps] = [agentStack("prod", s, "initial"), agentStack("apps", s, "initial")];
      const deployTokenAt = apps.findIndex(([name]) => name === "deployToken-apps");
      assert.equal(await pulumiUpOf([...prod, ...apps.slice(0, deployTokenAt)], s, fw.output), undefined);
      const prodDeployToken = s["deployToken-prod"].outs.tokenId;
      fault.inject(fw.w.fake, { method: "POST", pathPattern: /\/deploy_tokens$/ });
      const failed = await pulumiUpOf(apps.slice(deployTokenAt), s, fw.output);
      if (fault.failsTheRun) assert.match(String(failed?.message), /Not resent/);
      else assert.equal(failed, undefined, String(failed?.message));
      assert.equal(fw.w.fake.pendingFaults(), 0, "the fault was met");

      assert.equal(await pulumiUp(s), undefined, "the re-run converges");
      assertConverged(s);
      assert.equal(s["deployToken-prod"].outs.tokenId, prodDeployToken, "prod's deploy token untouched");
      assert.ok(
        activeDeployTokens().some((t) => t.id === prodDeployToken),
        "prod's deploy token still active in GitLab",
      );
      assert.equal(await pulumiUp(s), undefined);
      assertConverged(s);

      await destroyOf(stack(s), s);
      assertDestroyed();
      assertNoSecretIn(fw.w, fw.output, secretsOf(s));
    });
});
