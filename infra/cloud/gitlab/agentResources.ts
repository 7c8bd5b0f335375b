/**
 * The GitLab side of the agent as Pulumi resources (dynamic providers; see dynamic.ts for the rules):
 * the agent, its token and the token's retirement here; its config file, environment and (receptive
 * mode) URL configuration in agentObjects.ts.
 *
 * Ownership (docs/ownership.md): each object records whether this stack created it (`adopted` false) or
 * took it over (`adopted` true). Adopted objects are released, never deleted, on destroy or replace.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  claimAgent,
  createAgentToken,
  deleteAgent,
  ensureAgent,
  revokeAgentToken,
  revokeStackTokens,
  showAgent,
  showAgentToken,
} from "../../gitlab/agents";
import { dnsLabelProblem } from "../../core/kubernetes";
import { diffByKeys, GitlabTarget, providerApi, targetKey } from "./dynamic";
import { tokenRetirementProvider } from "./tokenRetirement";

export * from "./agentObjects";

const PURPOSE = "Managing the GitLab agent";

// ---- agent -----------------------------------------------------------------------------------------

export interface ClusterAgentArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  name: pulumi.Input<string>;
  /** Keep the agent in GitLab on `pulumi destroy` (its tokens are revoked all the same). */
  retainOnDelete: pulumi.Input<boolean>;
  /** This stack's identity, `PROJECT/STACK` (infra/gitlab/ownership.ts). */
  owner?: pulumi.Input<string>;
  /** Use an existing agent this stack did not register (gitlab-eks:agent.adopt). */
  adopt?: pulumi.Input<boolean>;
  /** Where the agent's settings are (`gitlab-eks:agent`, `gitlab-eks:agents[<i>]`): refusals name it. */
  configKey?: pulumi.Input<string>;
}

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Whether `news` names another agent than the one this resource already holds (or none yet). */
const newAgent = (olds: Props, news: Props) =>
  olds.name !== news.name || olds.project !== news.project || olds.target?.url !== news.target?.url;

export const clusterAgentProvider: pulumi.dynamic.ResourceProvider = {
  /**
   * Runs at preview too: an agent this stack does not hold yet is looked up, and one that another stack
   * owns, or that exists without `adopt`, fails the preview before anything is created.
   */
  async check(olds, news) {
    const problem = typeof news.name === "string" ? dnsLabelProblem(news.name) : undefined;
    if (problem)
      return {
        inputs: news,
        failures: [{ property: "name", reason: `agent name ${problem} (RFC 1123 DNS label)` }],
      };
    const known = [news.project, news.name, news.target?.url].every((v) => typeof v === "string");
    if (!known || !newAgent(olds, news)) return { inputs: news };
    const claim = await claimAgent(providerApi(news.target, PURPOSE), news.project, news.name, {
      owner: news.owner,
      adopt: news.adopt === true,
      configKey: news.configKey,
    });
    return claim.kind === "refused"
      ? { inputs: news, failures: [{ property: "name", reason: claim.reason }] }
      : { inputs: news };
  },
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project", "name"], ["retainOnDelete", "adopt", "owner"]);
  },
  async create(inputs) {
    const api = providerApi(inputs.target, PURPOSE);
    const { agent, adopted } = await ensureAgent(api, inputs.project, inputs.name, {
      owner: inputs.owner,
      adopt: inputs.adopt === true,
      configKey: inputs.configKey,
    });
    return { id: String(agent.id), outs: { ...inputs, agentId: agent.id, adopted } };
  },
  async read(id, props) {
    const agent = await showAgent(providerApi(props.target, PURPOSE), props.project, Number(id));
    return agent ? { id, props: { ...props, name: agent.name } } : { id: "", props: {} };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, ...news, agentId: olds.agentId, adopted: olds.adopted } };
  },
  async delete(id, props) {
    // An adopted agent is released: it stays in GitLab, only this stack's tokens are revoked.
    if (props.retainOnDelete || props.adopted) return;
    await deleteAgent(providerApi(props.target, PURPOSE), props.project, Number(id));
  },
};

export class ClusterAgent extends pulumi.dynamic.Resource {
  declare readonly agentId: pulumi.Output<number>;
  /** True when the agent existed and was adopted: destroy leaves it in GitLab. */
  declare readonly adopted: pulumi.Output<boolean>;
  constructor(name: string, args: ClusterAgentArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      clusterAgentProvider,
      name,
      { ...args, agentId: undefined, adopted: undefined },
      opts,
      "gitlab-eks",
      "ClusterAgent",
    );
  }
}

// ---- token -----------------------------------------------------------------------------------------

export interface AgentTokenArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  agentId: pulumi.Input<number>;
  /** Token name; it carries the rotation trigger, so a new trigger means a new token. */
  name: pulumi.Input<string>;
  description: pulumi.Input<string>;
  /** This stack's identity; it goes into the token's description, and only such tokens are revoked. */
  owner?: pulumi.Input<string>;
}

/**
 * Rotation (a new name) is an update of this resource: the new token is created while the one in use
 * stays (its id is in state: `keep`), room being made only by revoking this stack's orphans; the Secret
 * and the agent pods then roll to the new token, and only after that AgentTokenRetirement revokes the old
 * one. A rotation whose answer was lost leaves an orphan of this stack, revoked by the next run. The
 * resource's id is the first token's id; `tokenId` is the current one.
 */
export const agentTokenProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project", "agentId"], ["name", "description", "owner"]);
  },
  async create(inputs) {
    const api = providerApi(inputs.target, PURPOSE);
    const { token } = await createAgentToken(api, inputs.project, inputs.agentId, inputs.name, {
      description: inputs.description,
      owner: inputs.owner,
    });
    return {
      id: String(token.id),
      outs: { ...inputs, tokenId: token.id, token: token.secret, replacedTokenIds: [] },
    };
  },
  async read(id, props) {
    const t = await showAgentToken(
      providerApi(props.target, PURPOSE),
      props.project,
      props.agentId,
      Number(props.tokenId ?? id),
    );
    return t ? { id, props } : { id: "", props: {} };
  },
  async update(id, olds, news) {
    const held = Number(olds.tokenId ?? id);
    if (olds.name === news.name)
      return {
        outs: {
          ...olds,
          ...news,
          tokenId: held,
          token: olds.token,
          replacedTokenIds: olds.replacedTokenIds ?? [],
        },
      };
    const { token } = await createAgentToken(
      providerApi(news.target, PURPOSE),
      news.project,
      news.agentId,
      news.name,
      { description: news.description, owner: news.owner, keep: [held] },
    );
    // The replaced token is revoked by AgentTokenRetirement once the pods run on the new one; named here
    // because a token created before tokens carried the stack's identity is not recognisable otherwise.
    return { outs: { ...news, tokenId: token.id, token: token.secret, replacedTokenIds: [held] } };
  },
  async delete(id, props) {
    const api = providerApi(props.target, PURPOSE);
    await revokeAgentToken(api, props.project, props.agentId, Number(props.tokenId ?? id));
    // Destroy also revokes this stack's orphans: tokens of a create whose answer was lost.
    if (props.owner) await revokeStackTokens(api, props.project, props.agentId, props.owner);
  },
};

export class AgentToken extends pulumi.dynamic.Resource {
  declare readonly tokenId: pulumi.Output<number>;
  /** The agent token; a Pulumi secret. */
  declare readonly token: pulumi.Output<string>;
  /** The token(s) the last rotation replaced, for AgentTokenRetirement to revoke. */
  declare readonly replacedTokenIds: pulumi.Output<number[]>;
  constructor(name: string, args: AgentTokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentTokenProvider,
      name,
      { ...args, tokenId: undefined, token: undefined, replacedTokenIds: undefined },
      { ...opts, additionalSecretOutputs: ["token"] },
      "gitlab-eks",
      "AgentToken",
    );
  }
}

// ---- token retirement ------------------------------------------------------------------------------

export interface AgentTokenRetirementArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  agentId: pulumi.Input<number>;
  /** The token the cluster now runs on. */
  keepTokenId: pulumi.Input<number>;
  owner: pulumi.Input<string>;
  /** Tokens this stack's state held before the rotation (AgentToken.replacedTokenIds). */
  replacedTokenIds?: pulumi.Input<pulumi.Input<number>[]>;
}

/**
 * Revokes this stack's tokens other than the one in use, once the agent runs on it: created with a
 * dependency on the Helm release, so it runs after the Secret changed and the pods rolled.
 */
export const agentTokenRetirementProvider = tokenRetirementProvider({
  purpose: PURPOSE,
  scope: ["project", "agentId"],
  id: (p) => `${p.agentId}`,
  revoke: (api, p, tokenId) => revokeAgentToken(api, p.project, p.agentId, tokenId),
  revokeStack: (api, p, keep) => revokeStackTokens(api, p.project, p.agentId, p.owner, keep),
});

export class AgentTokenRetirement extends pulumi.dynamic.Resource {
  /** Ids of the tokens revoked by the last run. */
  declare readonly revoked: pulumi.Output<number[]>;
  constructor(name: string, args: AgentTokenRetirementArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentTokenRetirementProvider,
      name,
      { ...args, revoked: undefined },
      opts,
      "gitlab-eks",
      "AgentTokenRetirement",
    );
  }
}
