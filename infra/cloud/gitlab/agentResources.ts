/**
 * The GitLab side of the agent as Pulumi resources (dynamic providers; see dynamic.ts for the rules):
 * the agent, its token, its config file, its environment, and (receptive mode) its URL configuration.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  createAgentToken,
  deleteAgent,
  deleteUrlConfiguration,
  ensureAgent,
  ensureUrlConfiguration,
  revokeAgentToken,
  showAgent,
  showAgentToken,
} from "../../gitlab/agents";
import { deleteEnvironment, ensureEnvironment, findEnvironment } from "../../gitlab/environments";
import { deleteFile, ensureFile, readFile } from "../../gitlab/files";
import { dnsLabelProblem } from "../../core/kubernetes";
import { diffByKeys, GitlabTarget, providerApi, targetKey } from "./dynamic";

const PURPOSE = "Managing the GitLab agent";

// ---- agent -----------------------------------------------------------------------------------------

export interface ClusterAgentArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  name: pulumi.Input<string>;
  /** Keep the agent in GitLab on `pulumi destroy` (its tokens are revoked all the same). */
  retainOnDelete: pulumi.Input<boolean>;
}

export const clusterAgentProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const problem = typeof news.name === "string" ? dnsLabelProblem(news.name) : undefined;
    return problem
      ? {
          inputs: news,
          failures: [{ property: "name", reason: `agent name ${problem} (RFC 1123 DNS label)` }],
        }
      : { inputs: news };
  },
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project", "name"], ["retainOnDelete"]);
  },
  async create(inputs) {
    const api = providerApi(inputs.target, PURPOSE);
    const { agent, created } = await ensureAgent(api, inputs.project, inputs.name);
    return { id: String(agent.id), outs: { ...inputs, agentId: agent.id, adopted: !created } };
  },
  async read(id, props) {
    const agent = await showAgent(providerApi(props.target, PURPOSE), props.project, Number(id));
    return agent ? { id, props: { ...props, name: agent.name } } : { id: "", props: {} };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, ...news } };
  },
  async delete(id, props) {
    if (props.retainOnDelete) return;
    await deleteAgent(providerApi(props.target, PURPOSE), props.project, Number(id));
  },
};

export class ClusterAgent extends pulumi.dynamic.Resource {
  declare readonly agentId: pulumi.Output<number>;
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
  /** Names starting with this are ours; others may be revoked to stay within GitLab's two-token limit. */
  managedPrefix: pulumi.Input<string>;
}

/**
 * Rotation is a replacement, and Pulumi replaces create-before-delete: the new token is created, the
 * resources that use it (the Kubernetes Secret, the agent pods) are updated, and only then is the old
 * token revoked. At most two tokens are ever active.
 */
export const agentTokenProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(
      olds,
      news,
      [targetKey, "project", "agentId", "name"],
      ["description", "managedPrefix"],
    );
  },
  async create(inputs) {
    const api = providerApi(inputs.target, PURPOSE);
    const { token } = await createAgentToken(api, inputs.project, inputs.agentId, inputs.name, {
      description: inputs.description,
      managedPrefix: inputs.managedPrefix,
    });
    return { id: String(token.id), outs: { ...inputs, tokenId: token.id, token: token.secret } };
  },
  async read(id, props) {
    const t = await showAgentToken(
      providerApi(props.target, PURPOSE),
      props.project,
      props.agentId,
      Number(id),
    );
    return t ? { id, props } : { id: "", props: {} };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, ...news, tokenId: olds.tokenId, token: olds.token } };
  },
  async delete(id, props) {
    await revokeAgentToken(providerApi(props.target, PURPOSE), props.project, props.agentId, Number(id));
  },
};

export class AgentToken extends pulumi.dynamic.Resource {
  declare readonly tokenId: pulumi.Output<number>;
  /** The agent token; a Pulumi secret. */
  declare readonly token: pulumi.Output<string>;
  constructor(name: string, args: AgentTokenArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentTokenProvider,
      name,
      { ...args, tokenId: undefined, token: undefined },
      { ...opts, additionalSecretOutputs: ["token"] },
      "gitlab-eks",
      "AgentToken",
    );
  }
}

// ---- config file -----------------------------------------------------------------------------------

export interface RepositoryFileArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  path: pulumi.Input<string>;
  content: pulumi.Input<string>;
  commitMessage: pulumi.Input<string>;
  retainOnDelete: pulumi.Input<boolean>;
}

export const repositoryFileProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project", "path"], ["content", "retainOnDelete"]);
  },
  async create(inputs) {
    const f = await ensureFile(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      inputs.path,
      inputs.content,
      {
        message: inputs.commitMessage,
      },
    );
    return {
      id: `${inputs.project}:${inputs.path}`,
      outs: { ...inputs, branch: f.branch, sha256: f.sha256, lastCommitId: f.lastCommitId },
    };
  },
  async read(id, props) {
    const f = await readFile(providerApi(props.target, PURPOSE), props.project, props.path, props.branch);
    // Edited by hand? Report the content GitLab has, so the next `pulumi up` puts ours back.
    return f ? { id, props: { ...props, content: f.content, sha256: f.sha256 } } : { id: "", props: {} };
  },
  async update(_id, olds, news) {
    const f = await ensureFile(providerApi(news.target, PURPOSE), news.project, news.path, news.content, {
      branch: olds.branch,
      message: news.commitMessage,
    });
    return { outs: { ...news, branch: f.branch, sha256: f.sha256, lastCommitId: f.lastCommitId } };
  },
  async delete(_id, props) {
    if (props.retainOnDelete) return;
    await deleteFile(
      providerApi(props.target, PURPOSE),
      props.project,
      props.path,
      props.branch,
      `Remove ${props.path} (pulumi destroy)`,
    );
  },
};

export class RepositoryFile extends pulumi.dynamic.Resource {
  declare readonly branch: pulumi.Output<string>;
  declare readonly sha256: pulumi.Output<string>;
  constructor(name: string, args: RepositoryFileArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      repositoryFileProvider,
      name,
      { ...args, branch: undefined, sha256: undefined, lastCommitId: undefined },
      opts,
      "gitlab-eks",
      "RepositoryFile",
    );
  }
}

// ---- environment -----------------------------------------------------------------------------------

export interface AgentEnvironmentArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  name: pulumi.Input<string>;
  tier: pulumi.Input<string>;
  clusterAgentId: pulumi.Input<number>;
  kubernetesNamespace: pulumi.Input<string>;
  retainOnDelete: pulumi.Input<boolean>;
}

export const agentEnvironmentProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(
      olds,
      news,
      [targetKey, "project", "name"],
      ["tier", "clusterAgentId", "kubernetesNamespace", "retainOnDelete"],
    );
  },
  async create(inputs) {
    const { environment } = await ensureEnvironment(providerApi(inputs.target, PURPOSE), inputs.project, {
      name: inputs.name,
      tier: inputs.tier,
      clusterAgentId: inputs.clusterAgentId,
      kubernetesNamespace: inputs.kubernetesNamespace,
    });
    return { id: String(environment.id), outs: { ...inputs, environmentId: environment.id } };
  },
  async read(id, props) {
    const e = await findEnvironment(providerApi(props.target, PURPOSE), props.project, props.name);
    if (!e || String(e.id) !== id) return { id: "", props: {} };
    return {
      id,
      props: {
        ...props,
        tier: e.tier,
        clusterAgentId: e.clusterAgentId,
        kubernetesNamespace: e.kubernetesNamespace,
      },
    };
  },
  async update(_id, _olds, news) {
    const { environment } = await ensureEnvironment(providerApi(news.target, PURPOSE), news.project, {
      name: news.name,
      tier: news.tier,
      clusterAgentId: news.clusterAgentId,
      kubernetesNamespace: news.kubernetesNamespace,
    });
    return { outs: { ...news, environmentId: environment.id } };
  },
  async delete(id, props) {
    if (props.retainOnDelete) return;
    await deleteEnvironment(providerApi(props.target, PURPOSE), props.project, Number(id));
  },
};

export class AgentEnvironment extends pulumi.dynamic.Resource {
  declare readonly environmentId: pulumi.Output<number>;
  constructor(name: string, args: AgentEnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentEnvironmentProvider,
      name,
      { ...args, environmentId: undefined },
      opts,
      "gitlab-eks",
      "AgentEnvironment",
    );
  }
}

// ---- receptive URL configuration ----------------------------------------------------------------------

export interface ReceptiveUrlArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  agentId: pulumi.Input<number>;
  url: pulumi.Input<string>;
}

export const receptiveUrlProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(olds, news, [targetKey, "project", "agentId", "url"], []);
  },
  async create(inputs) {
    const { config } = await ensureUrlConfiguration(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      inputs.agentId,
      inputs.url,
    );
    return { id: String(config.id), outs: { ...inputs, publicKey: config.publicKey } };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, ...news } };
  },
  async delete(id, props) {
    await deleteUrlConfiguration(
      providerApi(props.target, PURPOSE),
      props.project,
      props.agentId,
      Number(id),
    );
  },
};

export class ReceptiveUrl extends pulumi.dynamic.Resource {
  /** Public key of GitLab's JWT keypair for this agent (not secret); goes to config.api.jwtPublicKey. */
  declare readonly publicKey: pulumi.Output<string>;
  constructor(name: string, args: ReceptiveUrlArgs, opts?: pulumi.CustomResourceOptions) {
    super(receptiveUrlProvider, name, { ...args, publicKey: undefined }, opts, "gitlab-eks", "ReceptiveUrl");
  }
}
