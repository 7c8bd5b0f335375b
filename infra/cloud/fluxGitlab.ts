/**
 * `agent.installMethod: flux`, the GitLab side and what ties it to the cluster: Flux's deploy token on the
 * agent project (only ever in the agent's Secret fluxGitSecretName in Flux's namespace), the agent's HelmRepository and HelmRelease
 * committed into `agent.flux.manifestPath` on `agent.flux.branch`, and the retirement of replaced tokens.
 *
 * Order of a rotation (docs/gitops.md, "Token rotation with Flux"):
 *   deploy token: new token -> the agent's deploy-token Secret updated -> old deploy token revoked;
 *   agent token: new token -> Secret gitlab-agent-token updated -> manifests committed (the HelmRelease's
 *   podAnnotations carry the new token id) -> Kustomization in place -> old agent token revoked.
 * Flux rolls the agent's pods at its next reconcile of the committed HelmRelease, after the revocation:
 * the old token is never revoked before the Secret holds its successor, but the pods may run on it until
 * Flux applies the commit (up to the GitRepository's interval plus the HelmRelease's reconcile).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { fluxDeployTokenName } from "../gitlab/deployTokens";
import { fluxGitSecretName, fluxManifestFile, type FluxObject } from "../model/flux";
import { agentResource } from "./agentCluster";
import type { GitlabTarget } from "./gitlab/dynamic";
import { FluxDeployToken, FluxDeployTokenRetirement } from "./gitlab/fluxResources";
import { RepositoryFile } from "./gitlab/agentResources";

export interface FluxGitlabDeployment {
  deployToken: FluxDeployToken;
  gitSecret: k8s.core.v1.Secret;
  /** The committed manifests, HelmRepository first. */
  files: RepositoryFile[];
  resources: pulumi.Resource[];
}

export function deployFluxGitlab(
  config: StackConfig,
  agent: AgentConfig,
  deps: {
    target: GitlabTarget;
    project: pulumi.Input<string>;
    owner: string;
    provider: k8s.Provider;
    /** Flux's namespace (the Secret goes there) and what must exist before the manifests are committed. */
    fluxNamespace: k8s.core.v1.Namespace;
    dependsOn: pulumi.Resource[];
    manifests: pulumi.Output<Record<string, string>>;
  },
): FluxGitlabDeployment {
  const { target, project, owner } = deps;
  const deployToken = agentResource(agent, FluxDeployToken, "flux-deploy-token", {
    target,
    project,
    name: fluxDeployTokenName(owner, agent.name, agent.tokenRotation),
    owner,
  });
  const gitSecret = agentResource(
    agent,
    k8s.core.v1.Secret,
    "flux-git-secret",
    {
      metadata: {
        name: fluxGitSecretName(agent),
        namespace: agent.flux.namespace,
        labels: { "app.kubernetes.io/managed-by": "gitlab-eks", "gitlab-eks/agent": agent.name },
        annotations: { "gitlab-eks/deploy-token-id": deployToken.tokenId.apply(String) },
      },
      type: "Opaque",
      // Basic auth for source-controller: the deploy token's username and value.
      stringData: { username: deployToken.username, password: deployToken.token },
    },
    { provider: deps.provider, dependsOn: [deps.fluxNamespace] },
  );
  const retirement = agentResource(
    agent,
    FluxDeployTokenRetirement,
    "flux-deploy-token-retirement",
    {
      target,
      project,
      keepTokenId: deployToken.tokenId,
      replacedTokenIds: deployToken.replacedTokenIds,
      owner,
      agentName: agent.name,
    },
    { dependsOn: [gitSecret] },
  );
  // The HelmRepository before the HelmRelease that names it, so no commit holds a release without its source.
  const files: RepositoryFile[] = [];
  for (const kind of ["HelmRepository", "HelmRelease"]) {
    const path = `${agent.flux.manifestPath}/${fluxManifestFile({ kind } as FluxObject)}`;
    files.push(
      agentResource(
        agent,
        RepositoryFile,
        `flux-manifest-${kind.toLowerCase()}`,
        {
          target,
          project,
          path,
          branch: agent.flux.branch,
          content: deps.manifests.apply((m) => m[path]),
          commitMessage: `gitlab-eks: ${kind} of agent ${agent.name} for Flux (stack ${config.stack})`,
          retainOnDelete: agent.retainOnDelete,
          owner,
          adopt: agent.adopt,
        },
        { dependsOn: [...deps.dependsOn, gitSecret, ...files] },
      ),
    );
  }
  return { deployToken, gitSecret, files, resources: [deployToken, gitSecret, retirement, ...files] };
}
