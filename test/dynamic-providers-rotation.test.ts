/**
 * The agent token's rotation through the GitLab dynamic providers against the fake GitLab server: the new
 * token created while the one in use stays, the old one revoked only by the retirement.
 */
import assert from "node:assert/strict";
import { agentTokenProvider, agentTokenRetirementProvider } from "../infra/cloud/gitlab/agentResources";
import { OWNER, providerWorld, type Target, up } from "./support/provider-world";
import type { GitlabWorld } from "./support/gitlab-world";

describe("GitLab dynamic providers: rotating the agent token", () => {
  const pw = providerWorld();
  const { tokenInputs, firstUp } = pw;
  let w: GitlabWorld;
  let target: Target;
  beforeEach(() => {
    ({ w, target } = pw);
  });

  it("a stack created before tokens carried its identity: the first rotation still retires the old token", async () => {
    const s = await firstUp();
    const legacy = w.fake.state.agentTokens.find((t) => t.id === s.token.outs.tokenId)!;
    legacy.description = "gitlab-eks: cluster prod, stack production"; // the old description, no identity
    const rotated = await up(agentTokenProvider, s.token, tokenInputs(s.agentId, "gitlab-eks-production-2"));
    assert.deepEqual(rotated.state.outs.replacedTokenIds, [legacy.id]);
    await up(agentTokenRetirementProvider, undefined, {
      target,
      project: "platform/clusters",
      agentId: s.agentId,
      keepTokenId: rotated.state.outs.tokenId,
      replacedTokenIds: rotated.state.outs.replacedTokenIds,
      owner: OWNER,
    });
    assert.deepEqual(
      w.fake.state.agentTokens.filter((t) => t.status === "active").map((t) => t.id),
      [rotated.state.outs.tokenId],
    );
  });

  it("rotation: the new token is created while the one in use stays; the old is revoked only by the retirement", async () => {
    const s = await firstUp();
    const activeIds = () =>
      w.fake.state.agentTokens
        .filter((t) => t.agentId === s.agentId && t.status === "active")
        .map((t) => t.id);
    const retirementInputs = (keepTokenId: number) => ({
      target,
      project: "platform/clusters",
      agentId: s.agentId,
      keepTokenId,
      owner: OWNER,
    });
    const retirement = (
      await up(agentTokenRetirementProvider, undefined, retirementInputs(s.token.outs.tokenId as number))
    ).state;
    const rotated = await up(
      agentTokenProvider,
      s.token,
      tokenInputs(s.agentId, "gitlab-eks-production-2026-11"),
    );
    assert.equal(
      rotated.replaced,
      undefined,
      "an update: the token in use stays in state while the new one is made",
    );
    assert.notEqual(rotated.state.outs.token, s.token.outs.token);
    assert.deepEqual(activeIds().sort(), [s.token.outs.tokenId, rotated.state.outs.tokenId].sort());
    // ... the Secret and the pods roll; then the retirement runs:
    await up(
      agentTokenRetirementProvider,
      retirement,
      retirementInputs(rotated.state.outs.tokenId as number),
    );
    assert.deepEqual(activeIds(), [rotated.state.outs.tokenId]);
    // A foreign token is never revoked to make room: the next rotation says what to do instead.
    w.fake.addAgentToken({ agentId: s.agentId, name: "glab-bootstrap-1" });
    await assert.rejects(
      up(agentTokenProvider, rotated.state, tokenInputs(s.agentId, "gitlab-eks-production-2027-05")),
      /none is an orphan of this stack.*"glab-bootstrap-1"/,
    );
    assert.ok(
      w.fake.requestsMatching({ method: "POST", pathPattern: /\/tokens$/ }).every((r) => r.status === 201),
      "GitLab never refused a third token",
    );
  });
});
