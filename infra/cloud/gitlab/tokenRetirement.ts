/**
 * The retirement of replaced tokens, one provider factory for both kinds this stack rotates: the agent's
 * token (AgentTokenRetirement) and Flux's deploy token (FluxDeployTokenRetirement). Created with a
 * dependency on what must hold the token to keep first (the rolled-out release, the Secret), it revokes
 * this stack's other tokens of that kind: those the last rotation replaced (named in state, because a token
 * created before tokens carried the stack's identity is not recognisable otherwise) and orphans whose name
 * or description carries the stack's identity. Tokens of other stacks and of people are never touched.
 * Deleting it revokes nothing (the token resource's delete does). See dynamic.ts for the providers' rules.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { GitlabApi } from "../../gitlab/client";
import { diffByKeys, providerApi, targetKey } from "./dynamic";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RetiredTokenKind {
  /** What the GitLab token is used for, in errors about it. */
  purpose: string;
  /** Inputs that say where the tokens are (project, agent), besides target, keepTokenId, owner, replacedTokenIds. */
  scope: string[];
  /** The resource's id, from its inputs. */
  id(p: Props): string;
  /** Revokes one token; one already gone is not an error. */
  revoke(api: GitlabApi, p: Props, tokenId: number): Promise<void>;
  /** Revokes this stack's tokens (`p.owner`) other than `keep`; returns those revoked. */
  revokeStack(api: GitlabApi, p: Props, keep: number[]): Promise<{ id: number }[]>;
}

export function tokenRetirementProvider(kind: RetiredTokenKind): pulumi.dynamic.ResourceProvider {
  async function retire(p: Props): Promise<number[]> {
    const api = providerApi(p.target, kind.purpose);
    const keep = Number(p.keepTokenId);
    const replaced = ((p.replacedTokenIds ?? []) as number[]).filter((id) => id !== keep);
    for (const id of replaced) await kind.revoke(api, p, id);
    const orphans = await kind.revokeStack(api, p, [keep, ...replaced]);
    return [...replaced, ...orphans.map((t) => t.id)];
  }
  return {
    async diff(_id, olds, news) {
      return diffByKeys(olds, news, [targetKey], [...kind.scope, "keepTokenId", "owner", "replacedTokenIds"]);
    },
    async create(inputs) {
      return { id: kind.id(inputs), outs: { ...inputs, revoked: await retire(inputs) } };
    },
    async update(_id, _olds, news) {
      return { outs: { ...news, revoked: await retire(news) } };
    },
    async delete() {},
  };
}
