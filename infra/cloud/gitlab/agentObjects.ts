/**
 * The agent's config file, environment and (receptive mode) URL configuration as Pulumi resources
 * (dynamic providers; see dynamic.ts). Each records in `adopted` whether it existed before this stack
 * wrote it; adopted objects are released, never deleted, on destroy.
 */
import * as pulumi from "@pulumi/pulumi";
import { claimAgent, deleteUrlConfiguration, ensureUrlConfiguration } from "../../gitlab/agents";
import { deleteEnvironment, ensureEnvironment, findEnvironment } from "../../gitlab/environments";
import { defaultBranch, deleteFile, ensureFile, readFile } from "../../gitlab/files";
import { ownedBy, ownersIn, ownerTag } from "../../gitlab/ownership";
import { diffByKeys, GitlabTarget, providerApi, targetKey } from "./dynamic";

const PURPOSE = "Managing the GitLab agent";

// ---- config file -----------------------------------------------------------------------------------

export interface RepositoryFileArgs {
  target: pulumi.Input<GitlabTarget>;
  project: pulumi.Input<string>;
  path: pulumi.Input<string>;
  content: pulumi.Input<string>;
  commitMessage: pulumi.Input<string>;
  retainOnDelete: pulumi.Input<boolean>;
  /** This stack's identity: a file found with it in its header is this stack's own, not adopted. */
  owner?: pulumi.Input<string>;
  /** Take over a file without this stack's header (gitlab-eks:agent.adopt); refused otherwise. */
  adopt?: pulumi.Input<boolean>;
  /**
   * The agent this file configures. Written before the agent, the file must not claim an agent that
   * exists and is not this stack's: that agent's ownership is checked here too.
   */
  agentName?: pulumi.Input<string>;
  /** Where the agent's settings are (`gitlab-eks:agent`, `gitlab-eks:agents[<i>]`): refusals name it. */
  configKey?: pulumi.Input<string>;
  /** Branch to commit to (default: the project's default branch); another branch is another file. */
  branch?: pulumi.Input<string>;
}

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Why this stack may not write the file found at `path` (undefined: it may). A file naming another stack
 * is never taken over; one without any gitlab-eks header only with `adopt`.
 */
async function fileRefusal(p: Props): Promise<string | undefined> {
  if (!p.owner) return undefined;
  const key = p.configKey ?? "gitlab-eks:agent";
  const api = providerApi(p.target, PURPOSE);
  const branch = p.branch ?? (await defaultBranch(api, p.project));
  const found = await readFile(api, p.project, p.path, branch);
  if (found && ownedBy(found.content, p.owner)) return undefined;
  const others = ownersIn(found?.content);
  if (others.length)
    return (
      `${p.path} in ${p.project} belongs to gitlab-eks stack ${others.join(", ")}. Two stacks cannot share an ` +
      `agent: give this stack its own ${key}.name.`
    );
  if (p.agentName) {
    const claim = await claimAgent(api, p.project, p.agentName, {
      owner: p.owner,
      adopt: p.adopt === true,
      configKey: key,
    });
    if (claim.kind === "refused") return claim.reason;
  }
  if (!found || p.adopt === true) return undefined;
  return (
    `${p.path} already exists in ${p.project} without this stack's header: another agent's configuration. ` +
    `Set ${key}.adopt to true to take it over (pulumi destroy then leaves it in place), or give ` +
    `this stack another ${key}.name.`
  );
}

export const repositoryFileProvider: pulumi.dynamic.ResourceProvider = {
  /** Runs at preview too: a file this stack does not hold yet must not belong to someone else. */
  async check(olds, news) {
    const known = [news.project, news.path, news.target?.url].every((v) => typeof v === "string");
    const held =
      olds.path === news.path && olds.project === news.project && olds.target?.url === news.target?.url;
    const refusal = known && !held ? await fileRefusal(news) : undefined;
    return refusal ? { inputs: news, failures: [{ property: "path", reason: refusal }] } : { inputs: news };
  },
  async diff(_id, olds, news) {
    const diff = diffByKeys(
      olds,
      news,
      [targetKey, "project", "path"],
      ["content", "retainOnDelete", "owner", "adopt"],
    );
    // A branch given and another than the one written to: another file (no branch given: the default).
    if (news.branch !== undefined && news.branch !== olds.branch)
      return { ...diff, changes: true, replaces: [...(diff.replaces ?? []), "branch"] };
    return diff;
  },
  async create(inputs) {
    const refusal = await fileRefusal(inputs);
    if (refusal)
      throw new Error(
        `Cannot write ${inputs.agentName ? "the agent's config file" : inputs.path}: ${refusal}`,
      );
    const f = await ensureFile(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      inputs.path,
      inputs.content,
      { message: inputs.commitMessage, branch: inputs.branch },
    );
    // A file that was there without this stack's header (an adopted agent's, say) is adopted.
    const adopted = f.previous !== undefined && !(inputs.owner && ownedBy(f.previous, inputs.owner));
    return {
      id: `${inputs.project}:${inputs.path}`,
      outs: { ...inputs, branch: f.branch, sha256: f.sha256, lastCommitId: f.lastCommitId, adopted },
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
    return {
      outs: {
        ...news,
        branch: f.branch,
        sha256: f.sha256,
        lastCommitId: f.lastCommitId,
        adopted: olds.adopted,
      },
    };
  },
  async delete(_id, props) {
    if (props.retainOnDelete || props.adopted) return;
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
      { branch: undefined, ...args, sha256: undefined, lastCommitId: undefined, adopted: undefined },
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
  /** installMethod flux: the Flux resource GitLab's environment page shows the sync status of. */
  fluxResourcePath?: pulumi.Input<string>;
  retainOnDelete: pulumi.Input<boolean>;
  /** This stack's identity: written into the description of an environment this stack creates. */
  owner?: pulumi.Input<string>;
}

export const agentEnvironmentProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    return diffByKeys(
      olds,
      news,
      [targetKey, "project", "name"],
      ["tier", "clusterAgentId", "kubernetesNamespace", "fluxResourcePath", "retainOnDelete"],
    );
  },
  async create(inputs) {
    const { environment, created } = await ensureEnvironment(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      {
        name: inputs.name,
        tier: inputs.tier,
        clusterAgentId: inputs.clusterAgentId,
        kubernetesNamespace: inputs.kubernetesNamespace,
        fluxResourcePath: inputs.fluxResourcePath,
        ...(inputs.owner ? { description: `gitlab-eks ${ownerTag(inputs.owner)}` } : {}),
      },
    );
    // An environment that was there (CI jobs create them too) is adopted: linked, never deleted. One
    // carrying this stack's identity is its own (created by a run whose answer was lost).
    const adopted = !created && !(inputs.owner && ownedBy(environment.description, inputs.owner));
    return {
      id: String(environment.id),
      outs: { ...inputs, environmentId: environment.id, adopted },
    };
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
        ...(props.fluxResourcePath !== undefined || e.fluxResourcePath
          ? { fluxResourcePath: e.fluxResourcePath }
          : {}),
      },
    };
  },
  async update(_id, olds, news) {
    const { environment } = await ensureEnvironment(providerApi(news.target, PURPOSE), news.project, {
      name: news.name,
      tier: news.tier,
      clusterAgentId: news.clusterAgentId,
      kubernetesNamespace: news.kubernetesNamespace,
      // The stack set one and no longer does (flux -> helm): cleared; never set by the stack: left alone.
      fluxResourcePath: news.fluxResourcePath ?? (olds.fluxResourcePath ? null : undefined),
    });
    return { outs: { ...news, environmentId: environment.id, adopted: olds.adopted } };
  },
  async delete(id, props) {
    if (props.retainOnDelete || props.adopted) return;
    await deleteEnvironment(providerApi(props.target, PURPOSE), props.project, Number(id));
  },
};

export class AgentEnvironment extends pulumi.dynamic.Resource {
  declare readonly environmentId: pulumi.Output<number>;
  constructor(name: string, args: AgentEnvironmentArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      agentEnvironmentProvider,
      name,
      { ...args, environmentId: undefined, adopted: undefined },
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
  /** PEM CA certificate GitLab verifies the agent's endpoint with (sent as `ca_cert`, Base64). */
  caCert?: pulumi.Input<string>;
  /** Host name GitLab verifies the endpoint's certificate for (`tls_host`). */
  tlsHost?: pulumi.Input<string>;
  /** The agent was adopted: its URL configuration is not this stack's to replace or delete. */
  agentAdopted?: pulumi.Input<boolean>;
  /** Where the agent's settings are (`gitlab-eks:agent`, `gitlab-eks:agents[<i>]`): messages name it. */
  configKey?: pulumi.Input<string>;
}

export const receptiveUrlProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds, news) {
    // GitLab cannot edit a URL configuration: new TLS settings replace it like a new URL does.
    return diffByKeys(
      olds,
      news,
      [targetKey, "project", "agentId", "url", "caCert", "tlsHost"],
      ["agentAdopted"],
    );
  },
  async create(inputs) {
    const { config, created } = await ensureUrlConfiguration(
      providerApi(inputs.target, PURPOSE),
      inputs.project,
      inputs.agentId,
      inputs.url,
      {
        agentOwned: inputs.agentAdopted !== true,
        tls: { caCert: inputs.caCert, tlsHost: inputs.tlsHost },
        configKey: inputs.configKey,
      },
    );
    const adopted = !created && inputs.agentAdopted === true;
    return { id: String(config.id), outs: { ...inputs, publicKey: config.publicKey, adopted } };
  },
  async update(_id, olds, news) {
    return { outs: { ...olds, ...news, adopted: olds.adopted } };
  },
  async delete(id, props) {
    if (props.adopted) return;
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
    super(
      receptiveUrlProvider,
      name,
      { ...args, publicKey: undefined, adopted: undefined },
      opts,
      "gitlab-eks",
      "ReceptiveUrl",
    );
  }
}
