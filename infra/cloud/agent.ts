/**
 * The GitLab agent for Kubernetes, end to end in one `pulumi up`: preflight against GitLab, then the
 * agent, its token, config file and environment in GitLab, then its namespace, token Secret, RBAC and
 * Helm release in the cluster. No manual step, and no token copied by hand.
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
  RbacObject,
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
import { exposedReceptiveUrl, receptiveService } from "../model/agentReceptive";
import { deployFlux, type FluxDeployment } from "./flux";
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

export function deployAgent(
  config: StackConfig,
  agent: AgentConfig,
  deps: { provider: k8s.Provider; dependsOn: pulumi.Resource[]; env: Record<string, string | undefined> },
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
  const namespace = keep(
    new k8s.core.v1.Namespace(
      `ns-${agent.namespace}`,
      { metadata: { name: agent.namespace, labels } },
      k8sOpts,
    ),
  );
  const accessNamespaces = agentAccessNamespaces(agent).map((name) =>
    keep(
      new k8s.core.v1.Namespace(
        `ns-${name}`,
        { metadata: { name, labels: { "app.kubernetes.io/managed-by": "gitlab-eks" } } },
        k8sOpts,
      ),
    ),
  );
  const secret = keep(
    new k8s.core.v1.Secret(
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
    const manifests = helmFacts.apply((f) => agentFluxFiles(config, agent, f));
    let gitlab: FluxGitlabDeployment | undefined;
    const flux = deployFlux(config, agent, {
      provider: deps.provider,
      dependsOn: before,
      gitlabUrl: conn.url,
      // The deploy token and its Secret in Flux's namespace, which the GitRepository waits for.
      gitSecret: (fluxNamespace) => {
        gitlab = deployFluxGitlab(config, agent, {
          target,
          project,
          owner,
          provider: deps.provider,
          fluxNamespace,
          dependsOn: before,
          manifests,
        });
        return gitlab.gitSecret;
      },
    });
    if (!gitlab) throw new Error("deployFlux did not create Flux's deploy-token Secret");
    resources.push(...flux.resources, ...gitlab.resources);
    // The replaced agent token is revoked once its successor is in the Secret, the HelmRelease naming it
    // is committed and Flux's Kustomization is in place (fluxGitlab.ts says what that leaves open).
    keep(
      retireReplacedToken(target, project, registered, token, owner, [...gitlab.files, flux.kustomization]),
    );
    return {
      ready,
      agent: registered,
      token,
      flux: { ...flux, ...gitlab, resources: [...flux.resources, ...gitlab.resources], manifests },
      receptiveUrl: exposed?.url,
      resources,
    };
  }
  const values = helmFacts.apply((f) => agentHelmValues(config, agent, f));
  const release = keep(
    new k8s.helm.v3.Release(
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
  keep(retireReplacedToken(target, project, registered, token, owner, [release]));
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
  const configFile = new RepositoryFile("gitlab-agent-config", {
    target,
    project,
    path: agentConfigPath(agent),
    content: configFileHeader(owner) + stringify(agentConfigFile(agent), { lineWidth: 0 }),
    commitMessage: `gitlab-eks: configure agent ${agent.name} (stack ${config.stack})`,
    retainOnDelete: agent.retainOnDelete,
    owner,
    adopt: agent.adopt,
    agentName: agent.name,
  });
  const registered = new ClusterAgent(
    "gitlab-agent",
    {
      target,
      project,
      name: agent.name,
      retainOnDelete: agent.retainOnDelete,
      owner,
      adopt: agent.adopt,
    },
    { dependsOn: [configFile] },
  );
  const token = new AgentToken("gitlab-agent-token", {
    target,
    project,
    agentId: registered.agentId,
    name: agentTokenName(config.stack, agent),
    description: `gitlab-eks: cluster ${config.cluster.name} ${ownerTag(owner)}`,
    owner,
  });

  const environment = new AgentEnvironment("gitlab-agent-environment", {
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
  return new ReceptiveUrl("gitlab-agent-receptive", {
    target,
    project,
    agentId: registered.agentId,
    url,
    ...(agent.receptive?.caCert ? { caCert: agent.receptive.caCert } : {}),
    ...(agent.receptive?.tlsHost ? { tlsHost: agent.receptive.tlsHost } : {}),
    agentAdopted: registered.adopted,
  });
}

/**
 * agent.receptive.expose: a Service of type LoadBalancer in front of agentk's receptive API; its address
 * becomes the URL when none is configured. Pulumi waits for the load balancer's address.
 */
function exposeReceptiveAgent(
  agent: AgentConfig,
  opts: pulumi.CustomResourceOptions,
): { service: k8s.core.v1.Service; url: pulumi.Output<string> } | undefined {
  const desired = receptiveService(agent);
  if (!desired) return undefined;
  const service = new k8s.core.v1.Service(
    `gitlab-agent-receptive-${agent.releaseName}`,
    { metadata: desired.metadata, spec: desired.spec },
    opts,
  );
  const configured = agent.receptive?.url;
  const url = configured
    ? pulumi.output(configured)
    : service.status.apply((st) => {
        const ingress = st?.loadBalancer?.ingress?.[0];
        const address = ingress?.hostname || ingress?.ip;
        if (!address)
          throw new pulumi.RunError(
            `The load balancer of Service ${desired.metadata.namespace}/${desired.metadata.name} has no address; ` +
              "check the Service's events (kubectl describe service), or set gitlab-eks:agent.receptive.url",
          );
        return exposedReceptiveUrl(address);
      });
  return { service, url };
}

/** Revokes the token a rotation replaced, once `after` (the pods that use its successor) is done. */
export function retireReplacedToken(
  target: GitlabTarget,
  project: pulumi.Input<string>,
  registered: ClusterAgent,
  token: AgentToken,
  owner: string,
  after: pulumi.Resource[],
): AgentTokenRetirement {
  return new AgentTokenRetirement(
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

/** One RBAC object as a resource; ci_job subjects get GitLab's numeric ids from the preflight. */
function rbacResource(
  object: RbacObject,
  ids: pulumi.Output<Record<string, number>>,
  index: number,
  agent: AgentConfig,
  opts: pulumi.CustomResourceOptions,
): pulumi.CustomResource {
  const name = `agent-rbac-${index}-${object.kind.toLowerCase()}-${object.metadata.name}`;
  switch (object.kind) {
    case "ClusterRole":
      return new k8s.rbac.v1.ClusterRole(name, { metadata: object.metadata, rules: object.rules }, opts);
    case "Role":
      return new k8s.rbac.v1.Role(name, { metadata: object.metadata, rules: object.rules }, opts);
    case "ClusterRoleBinding":
      return new k8s.rbac.v1.ClusterRoleBinding(
        name,
        { metadata: object.metadata, roleRef: object.roleRef!, subjects: object.subjects },
        opts,
      );
    case "RoleBinding":
      return new k8s.rbac.v1.RoleBinding(
        name,
        {
          metadata: object.metadata,
          roleRef: object.roleRef!,
          subjects: ids.apply((resolved) => agentRbac(agent, resolved)[index].subjects!),
        },
        opts,
      );
  }
}
