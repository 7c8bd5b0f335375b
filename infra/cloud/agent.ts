/**
 * The GitLab agent for Kubernetes, end to end in one `pulumi up`: preflight against GitLab, then the
 * agent, its token, config file and environment in GitLab, then its namespace, token Secret, RBAC and
 * Helm release in the cluster. No manual step, and no token copied by hand. Several agents per cluster:
 * each has its own of all these (agentCluster.ts names them apart), and they share the namespaces and Flux.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { resolveConnection } from "../gitlab/connection";
import { configFileHeader, ownerOf, ownerTag } from "../gitlab/ownership";
import { agentPreflight, AgentFacts } from "../gitlab/preflight";
import {
  AGENT_CHART,
  AGENT_CHART_REPO,
  agentAccessNamespaces,
  agentConfigFile,
  agentConfigPath,
  agentHelmValues,
  agentRbac,
  agentTokenName,
} from "../model/agent";
import {
  AgentEnvironment,
  AgentToken,
  AgentTokenRetirement,
  ClusterAgent,
  ReceptiveUrl,
  RepositoryFile,
} from "./gitlab/agentResources";
import type { GitlabTarget } from "./gitlab/dynamic";
import { agentFluxFiles, fluxResourcePath } from "../model/flux";
import {
  agentNamespaces,
  agentResource,
  exposeReceptiveAgent,
  namespaceOf,
  rbacResource,
} from "./agentCluster";
import { deployFluxController, deployFluxSources, type FluxController, type FluxDeployment } from "./flux";
import { deployFluxGitlab, type FluxGitlabDeployment } from "./fluxGitlab";

export interface AgentDeployment {
  /** Settles when the preflight has passed (rejects with its failures); everything else waits for it. */
  ready: Promise<AgentFacts>;
  agent: ClusterAgent;
  token: AgentToken;
  /** The agent's Helm release (installMethod helm); with flux, Flux installs the agent instead. */
  release?: k8s.helm.v3.Release;
  /** installMethod flux: Flux in the cluster, and the files for the agent project (path -> content). */
  flux?: FluxDeployment & FluxGitlabDeployment & { manifests: pulumi.Output<Record<string, string>> };
  /** agent.receptive.expose: the URL GitLab connects to, from the load balancer's address. */
  receptiveUrl?: pulumi.Output<string>;
  resources: pulumi.Resource[];
}

/** Runs the preflight; a failed check stops the run (preview included) before anything is created. */
async function preflight(
  target: GitlabTarget,
  agent: AgentConfig,
  env: Record<string, string | undefined>,
): Promise<AgentFacts> {
  const { checks, facts } = await agentPreflight(target, agent, { env });
  const failed = checks.filter((c) => !c.ok);
  if (failed.length || !facts)
    throw new pulumi.RunError(
      `The GitLab agent cannot be set up (nothing was created):\n` +
        failed.map((c) => `  ${c.name}: ${c.detail}`).join("\n") +
        `\nCheck again with: npx gitlab-eks doctor --stack ${pulumi.getStack()}`,
    );
  return facts;
}

/** The stack's agents and what they share in the cluster: the namespaces, and Flux's controllers. */
export interface AgentsDeployment {
  agents: AgentDeployment[];
  namespaces: Map<string, k8s.core.v1.Namespace>;
  /** Flux's namespace and release, once per cluster, when any agent is installed through Flux. */
  flux?: FluxController;
  /** The shared resources (the agents' own are in each AgentDeployment). */
  resources: pulumi.Resource[];
}

/** Every agent of the stack (`gitlab-eks:agent` or `gitlab-eks:agents`), in config order. */
export function deployAgents(
  config: StackConfig,
  deps: { provider: k8s.Provider; dependsOn: pulumi.Resource[]; env: Record<string, string | undefined> },
): AgentsDeployment {
  const namespaces = agentNamespaces(config.agents, { provider: deps.provider, dependsOn: deps.dependsOn });
  const ns = (name: string) => namespaceOf(namespaces, name);
  const flux = deployFluxController(config, { ...deps, namespaceOf: ns });
  const agents = config.agents.map((a) => deployAgent(config, a, { ...deps, namespaceOf: ns, flux }));
  return {
    agents,
    namespaces,
    flux,
    resources: [...namespaces.values(), ...(flux ? [flux.release] : [])],
  };
}

function deployAgent(
  config: StackConfig,
  agent: AgentConfig,
  deps: {
    provider: k8s.Provider;
    dependsOn: pulumi.Resource[];
    env: Record<string, string | undefined>;
    namespaceOf: (name: string) => k8s.core.v1.Namespace;
    flux?: FluxController;
  },
): AgentDeployment {
  const conn = resolveConnection(config.gitlab, deps.env);
  const target: GitlabTarget = { url: conn.url, tokenVariable: conn.tokenVariable };
  const ready = preflight(target, agent, deps.env);
  const facts = pulumi.output(ready);
  // Every GitLab object waits for the preflight: its project input resolves only when all checks pass.
  const project = facts.apply(() => agent.project);
  const resources: pulumi.Resource[] = [];
  const keep = <T extends pulumi.Resource>(r: T) => (resources.push(r), r);

  const { configFile, registered, token, environment, receptive, owner } = registerAgent(
    config,
    agent,
    target,
    project,
  );
  resources.push(configFile, registered, token, environment, ...(receptive ? [receptive] : []));

  const k8sOpts = { provider: deps.provider, dependsOn: deps.dependsOn };
  const labels = { "app.kubernetes.io/managed-by": "gitlab-eks", "gitlab-eks/agent": agent.name };
  const namespace = deps.namespaceOf(agent.namespace);
  const accessNamespaces = agentAccessNamespaces(agent).map(deps.namespaceOf);
  const secret = keep(
    agentResource(
      agent,
      k8s.core.v1.Secret,
      "gitlab-agent-token",
      {
        metadata: {
          name: agent.tokenSecretName,
          namespace: agent.namespace,
          labels,
          annotations: { "gitlab-eks/agent-token-id": token.tokenId.apply(String) },
        },
        type: "Opaque",
        stringData: { token: token.token },
      },
      { ...k8sOpts, dependsOn: [...deps.dependsOn, namespace] },
    ),
  );
  const ids = facts.apply((f) => f.ids);
  const rbacResources = agentRbac(agent).map((o, i) =>
    keep(
      rbacResource(o, ids, i, agent, {
        ...k8sOpts,
        dependsOn: [...deps.dependsOn, namespace, ...accessNamespaces],
      }),
    ),
  );

  const exposed = exposeReceptiveAgent(agent, { ...k8sOpts, dependsOn: [...deps.dependsOn, namespace] });
  if (exposed) keep(exposed.service);
  const urlConfiguration =
    receptive ??
    (exposed && keep(receptiveUrlConfiguration(agent, target, project, registered, exposed.url)));

  // Facts from GitLab the Helm values need (same for both install methods).
  const helmFacts = pulumi
    .all([facts, token.tokenId, urlConfiguration ? urlConfiguration.publicKey : pulumi.output(undefined)])
    .apply(([f, tokenId, jwtPublicKey]) => ({
      kasAddress: f.kasAddress,
      imageTag: f.imageTag,
      tokenId: String(tokenId),
      jwtPublicKey,
    }));
  const before = [...deps.dependsOn, secret, ...rbacResources, configFile];
  if (agent.installMethod === "flux") {
    if (!deps.flux) throw new Error(`${agent.configKey}: Flux's controllers were not deployed`);
    const controller = deps.flux;
    const manifests = helmFacts.apply((f) => agentFluxFiles(config, agent, f));
    // The deploy token and its Secret in Flux's namespace, which the GitRepository waits for.
    const gitlab = deployFluxGitlab(config, agent, {
      target,
      project,
      owner,
      provider: deps.provider,
      fluxNamespace: controller.namespace,
      dependsOn: before,
      manifests,
    });
    const sources = deployFluxSources(agent, {
      provider: deps.provider,
      controller,
      dependsOn: before,
      gitlabUrl: conn.url,
      gitSecret: gitlab.gitSecret,
    });
    const own = [sources.gitRepository, sources.kustomization, ...gitlab.resources];
    resources.push(...own);
    // The replaced agent token is revoked once its successor is in the Secret, the HelmRelease naming it
    // is committed and Flux's Kustomization is in place (fluxGitlab.ts says what that leaves open).
    keep(
      retireReplacedToken(agent, target, project, registered, token, owner, [
        ...gitlab.files,
        sources.kustomization,
      ]),
    );
    return {
      ready,
      agent: registered,
      token,
      flux: { ...controller, ...sources, ...gitlab, resources: own, manifests },
      receptiveUrl: exposed?.url,
      resources,
    };
  }
  const values = helmFacts.apply((f) => agentHelmValues(config, agent, f));
  const release = keep(
    agentResource(
      agent,
      k8s.helm.v3.Release,
      `gitlab-agent-${agent.releaseName}`,
      {
        name: agent.releaseName,
        chart: AGENT_CHART,
        version: agent.chartVersion,
        repositoryOpts: { repo: AGENT_CHART_REPO },
        namespace: agent.namespace,
        values,
        atomic: true,
        timeout: 600,
        maxHistory: 5,
      },
      { ...k8sOpts, dependsOn: before },
    ),
  );
  // The token replaced by a rotation is revoked only now that the pods run on its successor.
  keep(retireReplacedToken(agent, target, project, registered, token, owner, [release]));
  return { ready, agent: registered, token, release, receptiveUrl: exposed?.url, resources };
}

/**
 * The agent's objects in GitLab (config file, agent, token, environment, receptive URL configuration),
 * owned by this stack. `project` may be an output that resolves only after the preflight.
 * Used by deployAgent and by the real-engine test program (test/fixtures/real-gitlab).
 */
export function registerAgent(
  config: StackConfig,
  agent: AgentConfig,
  target: GitlabTarget,
  project: pulumi.Input<string>,
) {
  // This stack's identity: in the config file header and the token's description (docs/ownership.md).
  const owner = ownerOf(config.project, config.stack);

  // The config file first: its header names this stack before the agent exists, so an agent whose
  // registration answer was lost is recognised as this stack's on the next run.
  const configFile = agentResource(agent, RepositoryFile, "gitlab-agent-config", {
    target,
    project,
    path: agentConfigPath(agent),
    content: configFileHeader(owner) + stringify(agentConfigFile(agent), { lineWidth: 0 }),
    commitMessage: `gitlab-eks: configure agent ${agent.name} (stack ${config.stack})`,
    retainOnDelete: agent.retainOnDelete,
    owner,
    adopt: agent.adopt,
    agentName: agent.name,
    ...named(agent),
  });
  const registered = agentResource(
    agent,
    ClusterAgent,
    "gitlab-agent",
    {
      target,
      project,
      name: agent.name,
      retainOnDelete: agent.retainOnDelete,
      owner,
      adopt: agent.adopt,
      ...named(agent),
    },
    { dependsOn: [configFile] },
  );
  const token = agentResource(agent, AgentToken, "gitlab-agent-token", {
    target,
    project,
    agentId: registered.agentId,
    name: agentTokenName(config.stack, agent),
    description: `gitlab-eks: cluster ${config.cluster.name} ${ownerTag(owner)}`,
    owner,
  });

  const environment = agentResource(agent, AgentEnvironment, "gitlab-agent-environment", {
    target,
    project,
    name: agent.environment.name,
    tier: agent.environment.tier,
    clusterAgentId: registered.agentId,
    kubernetesNamespace: agent.environment.kubernetesNamespace,
    fluxResourcePath: agent.installMethod === "flux" ? fluxResourcePath(agent) : undefined,
    retainOnDelete: agent.retainOnDelete,
    owner,
  });
  const receptive = agent.receptiveUrl
    ? receptiveUrlConfiguration(agent, target, project, registered, agent.receptiveUrl)
    : undefined;

  return { configFile, registered, token, environment, receptive, owner };
}

/** The receptive agent's URL configuration in GitLab, with its TLS settings (JWT authentication). */
function receptiveUrlConfiguration(
  agent: AgentConfig,
  target: GitlabTarget,
  project: pulumi.Input<string>,
  registered: ClusterAgent,
  url: pulumi.Input<string>,
): ReceptiveUrl {
  return agentResource(agent, ReceptiveUrl, "gitlab-agent-receptive", {
    target,
    project,
    agentId: registered.agentId,
    url,
    ...(agent.receptive?.caCert ? { caCert: agent.receptive.caCert } : {}),
    ...(agent.receptive?.tlsHost ? { tlsHost: agent.receptive.tlsHost } : {}),
    agentAdopted: registered.adopted,
    ...named(agent),
  });
}

/**
 * An `agents` entry's settings key for GitLab-side refusals (`gitlab-eks:agents[1].name`); the shorthand's
 * resources go without it, as they always have, and their messages say `gitlab-eks:agent`.
 */
const named = (agent: AgentConfig) => (agent.resourceSuffix ? { configKey: agent.configKey } : {});

/** Revokes the token a rotation replaced, once `after` (the pods that use its successor) is done. */
export function retireReplacedToken(
  agent: AgentConfig,
  target: GitlabTarget,
  project: pulumi.Input<string>,
  registered: ClusterAgent,
  token: AgentToken,
  owner: string,
  after: pulumi.Resource[],
): AgentTokenRetirement {
  return agentResource(
    agent,
    AgentTokenRetirement,
    "gitlab-agent-token-retirement",
    {
      target,
      project,
      agentId: registered.agentId,
      keepTokenId: token.tokenId,
      replacedTokenIds: token.replacedTokenIds,
      owner,
    },
    { dependsOn: after },
  );
}
