/**
 * The GitLab side of `agent.installMethod: flux` that is not the agent's: Flux's deploy token on the agent
 * project, and its retirement after a rotation (dynamic providers; see dynamic.ts for the rules). The
 * manifests Flux reconciles are RepositoryFile resources (agentObjects.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import {
  createDeployToken,
  deployTokenAgent,
  revokeDeployToken,
  revokeStackDeployTokens,
  showDeployToken,
} from "../../gitlab/deployTokens";
import { diffByKeys, GitlabTarget, providerApi, targetKey } from "./dynamic";
import { tokenRetirementProvider } from "./tokenRetirement";

const PURPOSE = "Managing Flux's deploy token";

export interface FluxDeployTokenArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  /** Carries this stack's identity and the rotation trigger (fluxDeployTokenName): a new name, a new token. */
  name: pulumi.Input<string>;
  /** This stack's identity: only deploy tokens whose name carries it are ever revoked. */
  owner: pulumi.Input<string>;
}

/**
 * Like AgentToken: a new name is an update that creates the new token while the one in use stays (its id
 * is in state); the Secret then gets the new value, and FluxDeployTokenRetirement revokes the old one.
 */
export const fluxDeployTokenProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project"], ["name", "owner"]);
  },
  async create(inputs) {
    const { token } = await createDeployToken(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      inputs.name,
      {
        owner: inputs.owner,
      },
    );
    return {
      id: String(token.id),
      outs: {
        ...inputs,
        tokenId: token.id,
        username: token.username,
        token: token.secret,
        replacedTokenIds: [],
      },
    };
  },
  async read(id, props) {
    const t = await showDeployToken(
      providerApi(props.target, PURPOSE),
      props.project,
      Number(props.tokenId ?? id),
    );
    return t ? { id, props } : { id: "", props: {} };
  },
  async update(id, olds, news) {
    const held = Number(olds.tokenId ?? id);
    if (olds.name === news.name)
      return { outs: { ...olds, ...news, tokenId: held, replacedTokenIds: olds.replacedTokenIds ?? [] } };
    const { token } = await createDeployToken(providerApi(news.target, PURPOSE), news.project, news.name, {
      owner: news.owner,
      keep: [held],
    });
    return {
      outs: {
        ...news,
        tokenId: token.id,
        username: token.username,
        token: token.secret,
        replacedTokenIds: [held],
      },
    };
  },
  async delete(id, props) {
    const api = providerApi(props.target, PURPOSE);
    await revokeDeployToken(api, props.project, Number(props.tokenId ?? id));
    // Destroy also revokes this agent's orphans: deploy tokens of a create whose answer was lost.
    const agentName = deployTokenAgent(String(props.name));
    if (props.owner && agentName) await revokeStackDeployTokens(api, props.project, props.owner, agentName);
  },
};

export class FluxDeployToken extends pulumi.dynamic.Resource {
  declare readonly tokenId: pulumi.Output<number>;
  /** The deploy token's username (`gitlab+deploy-token-N`): the basic-auth user Flux clones with. */
  declare readonly username: pulumi.Output<string>;
  /** The deploy token's value; a Pulumi secret. */
  declare readonly token: pulumi.Output<string>;
  declare readonly replacedTokenIds: pulumi.Output<number[]>;
  constructor(name: string, args: FluxDeployTokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      fluxDeployTokenProvider,
      name,
      { ...args, tokenId: undefined, username: undefined, token: undefined, replacedTokenIds: undefined },
      { ...opts, additionalSecretOutputs: ["token"] },
      "gitlab-eks",
      "FluxDeployToken",
    );
  }
}

export interface FluxDeployTokenRetirementArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  /** The deploy token the Secret now holds. */
  keepTokenId: pulumi.Input<number>;
  owner: pulumi.Input<string>;
  /** The agent whose deploy tokens these are: the stack's other agents' tokens in the project stay. */
  agentName: pulumi.Input<string>;
  replacedTokenIds?: pulumi.Input<pulumi.Input<number>[]>;
}

/**
 * Revokes this stack's deploy tokens other than the one in the Secret, once the Secret holds it (created
 * with a dependency on the Secret). source-controller reads the Secret at each fetch, so the next fetch
 * after the Secret changed uses the new token.
 */
export const fluxDeployTokenRetirementProvider = tokenRetirementProvider({
  purpose: PURPOSE,
  scope: ["project"],
  id: (p) => `${p.project}:deploy-tokens:${p.agentName}`,
  revoke: (api, p, tokenId) => revokeDeployToken(api, p.project, tokenId),
  revokeStack: (api, p, keep) => revokeStackDeployTokens(api, p.project, p.owner, p.agentName, keep),
});

export class FluxDeployTokenRetirement extends pulumi.dynamic.Resource {
  declare readonly revoked: pulumi.Output<number[]>;
  constructor(name: string, args: FluxDeployTokenRetirementArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      fluxDeployTokenRetirementProvider,
      name,
      { ...args, revoked: undefined },
      opts,
      "gitlab-eks",
      "FluxDeployTokenRetirement",
    );
  }
}
