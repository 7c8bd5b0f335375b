/**
 * The GitLab dynamic providers loaded from their serialized form exactly as Pulumi's dynamic-provider
 * host loads them, against the fake GitLab server.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  agentTokenRetirementProvider,
  clusterAgentProvider,
  receptiveUrlProvider,
  repositoryFileProvider,
} from "../infra/cloud/gitlab/agentResources";
import {
  fluxDeployTokenProvider,
  fluxDeployTokenRetirementProvider,
} from "../infra/cloud/gitlab/fluxResources";
import { fluxDeployTokenName } from "../infra/gitlab/deployTokens";
import { OWNER, providerWorld, type Target } from "./support/provider-world";
import type { GitlabWorld } from "./support/gitlab-world";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string) => {
  handler: () => pulumi.dynamic.ResourceProvider;
};

/** A provider as Pulumi's dynamic-provider host runs it: serialized, then loaded from that text. */
async function load(p: pulumi.dynamic.ResourceProvider) {
  return requireFromString(
    (await pulumi.runtime.serializeFunction(() => p, { allowSecrets: false })).text,
  ).handler();
}

describe("GitLab dynamic providers as Pulumi runs them: serialized, then loaded by the dynamic-provider host", () => {
  const pw = providerWorld();
  const { agentInputs, tokenInputs, fileInputs } = pw;
  let w: GitlabWorld;
  let target: Target;
  beforeEach(() => {
    ({ w, target } = pw);
  });

  const providers = {
    clusterAgentProvider,
    agentTokenProvider,
    agentTokenRetirementProvider,
    repositoryFileProvider,
    agentEnvironmentProvider,
    receptiveUrlProvider,
    fluxDeployTokenProvider,
    fluxDeployTokenRetirementProvider,
  };

  for (const [name, provider] of Object.entries(providers)) {
    it(`${name} serializes without capturing any token`, async () => {
      const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
      assert.ok(!text.includes(w.maintainerToken));
      assert.ok(!/glpat-|glagent-[A-Za-z0-9]|gldt-[A-Za-z0-9]/.test(text));
      assert.match(text, /require\("@gitbeaker\/core"\)/);
    });
  }

  it("the serialized providers keep their error handling: 404 is 'already gone', 403 keeps its message", async () => {
    const agentP = await load(clusterAgentProvider);
    const tokenP = await load(agentTokenProvider);
    const agent = await agentP.create(agentInputs());
    await agentP.delete!(agent.id, agent.outs);
    await agentP.delete!(agent.id, agent.outs); // GitLab answers 404: done, not an error
    assert.equal((await agentP.read!(agent.id, agent.outs)).id, "");
    const again = await agentP.create(agentInputs());
    process.env.GITLAB_TOKEN = w.developerToken;
    await assert.rejects(tokenP.create(tokenInputs(again.outs.agentId)), (e: Error) => {
      assert.match(
        e.message,
        /Cannot create a token for cluster agent .*needs to be Maintainer on platform\/clusters/,
      );
      return true;
    });
  });

  it("the serialized providers register, rotate and destroy against GitLab", async () => {
    const agentP = await load(clusterAgentProvider);
    const tokenP = await load(agentTokenProvider);
    const agent = await agentP.create(agentInputs());
    const token = await tokenP.create(tokenInputs(agent.outs.agentId));
    assert.match(token.outs.token, /^glagent-/);
    const rotated = await tokenP.update!(
      token.id,
      token.outs,
      tokenInputs(agent.outs.agentId, "gitlab-eks-production-2"),
    );
    assert.ok(rotated.outs!.token && rotated.outs!.token !== token.outs.token);
    assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 2);
    const retirementP = await load(agentTokenRetirementProvider);
    const retired = await retirementP.create({
      target,
      project: "platform/clusters",
      agentId: agent.outs.agentId,
      keepTokenId: rotated.outs!.tokenId,
      replacedTokenIds: rotated.outs!.replacedTokenIds,
      owner: OWNER,
    });
    assert.deepEqual(retired.outs.revoked, [token.outs.tokenId]);
    const fileP = await load(repositoryFileProvider);
    assert.match(
      ((await fileP.check!({}, { ...fileInputs(), owner: "platform-clusters/other" })).failures ?? [])[0]
        ?.reason ?? "",
      /belongs to gitlab-eks stack platform-clusters\/production/,
    );
    await tokenP.delete!(token.id, rotated.outs);
    assert.equal(w.fake.state.agentTokens.filter((t) => t.status === "active").length, 0);
    await agentP.delete!(agent.id, agent.outs);
    assert.equal(w.fake.state.agents.length, 0);
  });

  it("Flux's deploy token, loaded: created with its value once, rotated, the old one retired, a developer refused", async () => {
    const tokenP = await load(fluxDeployTokenProvider);
    const inputs = (rotation: string) => ({
      target,
      project: "platform/clusters",
      name: fluxDeployTokenName(OWNER, "prod", rotation),
      owner: OWNER,
    });
    const first = await tokenP.create(inputs("initial"));
    assert.match(first.outs.token, /^gldt-/);
    assert.match(first.outs.username, /^gitlab\+deploy-token-\d+$/);
    const rotated = await tokenP.update!(first.id, first.outs, inputs("2026-11"));
    assert.equal(w.fake.state.deployTokens.length, 2, "the one in use stays until retired");
    const retired = await (
      await load(fluxDeployTokenRetirementProvider)
    ).create({
      target,
      project: "platform/clusters",
      keepTokenId: rotated.outs!.tokenId,
      replacedTokenIds: rotated.outs!.replacedTokenIds,
      owner: OWNER,
    });
    assert.deepEqual(retired.outs.revoked, [first.outs.tokenId]);
    await tokenP.delete!(first.id, rotated.outs);
    assert.equal(w.fake.state.deployTokens.length, 0);
    process.env.GITLAB_TOKEN = w.developerToken;
    await assert.rejects(tokenP.create(inputs("initial")), (e: Error) => {
      assert.match(
        e.message,
        /deploy tokens of platform\/clusters.*needs to be Maintainer on platform\/clusters/,
      );
      return true;
    });
  });
});
