/**
 * `agent.installMethod: flux` in the cluster: Flux's controllers (pinned flux2 chart, on the system pool)
 * and the GitRepository and Kustomization that point Flux at the agent project's manifest folder. The
 * agent's namespace, token Secret and RBAC are created by deployAgent as for the direct install; Flux
 * then installs the agent from the HelmRelease in that folder.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { FLUX_CHART, FLUX_CHART_REPO, fluxChartValues, fluxClusterObjects } from "../model/flux";

export interface FluxDeployment {
  namespace: k8s.core.v1.Namespace;
  release: k8s.helm.v3.Release;
  gitRepository: k8s.apiextensions.CustomResource;
  kustomization: k8s.apiextensions.CustomResource;
  resources: pulumi.Resource[];
}

export function deployFlux(
  config: StackConfig,
  agent: AgentConfig,
  deps: {
    provider: k8s.Provider;
    /** The cluster's readiness (CoreDNS) and the agent's namespace, token Secret and RBAC. */
    dependsOn: pulumi.Resource[];
    gitlabUrl: string;
    /**
     * Makes the Secret (in Flux's namespace, once it exists) holding the deploy token the GitRepository
     * names: the GitRepository waits for it, so source-controller never fetches with a missing Secret.
     */
    gitSecret: (fluxNamespace: k8s.core.v1.Namespace) => pulumi.Resource;
  },
): FluxDeployment {
  const opts = { provider: deps.provider, dependsOn: deps.dependsOn };
  const ns = agent.flux.namespace;
  const namespace = new k8s.core.v1.Namespace(
    `ns-${ns}`,
    { metadata: { name: ns, labels: { "app.kubernetes.io/managed-by": "gitlab-eks" } } },
    opts,
  );
  const release = new k8s.helm.v3.Release(
    "flux",
    {
      name: "flux",
      chart: FLUX_CHART,
      version: agent.flux.chartVersion,
      repositoryOpts: { repo: FLUX_CHART_REPO },
      namespace: ns,
      values: fluxChartValues(config),
      atomic: true,
      timeout: 600,
      maxHistory: 5,
    },
    { ...opts, dependsOn: [...deps.dependsOn, namespace] },
  );
  const gitSecret = deps.gitSecret(namespace);
  // Their CRDs come with the chart: both wait for the release (docs/gitops.md, "Flux's objects before
  // their CRDs": preview skips a custom resource whose kind the cluster does not serve yet, and up creates
  // it only after the release, retrying while the new CRDs are being established).
  const [repo, kustomization] = fluxClusterObjects(agent, deps.gitlabUrl);
  const gitRepository = new k8s.apiextensions.CustomResource(
    `flux-gitrepository-${repo.metadata.name}`,
    { apiVersion: repo.apiVersion, kind: repo.kind, metadata: repo.metadata, spec: repo.spec },
    { ...opts, dependsOn: [...deps.dependsOn, release, gitSecret] },
  );
  const applied = new k8s.apiextensions.CustomResource(
    `flux-kustomization-${kustomization.metadata.name}`,
    {
      apiVersion: kustomization.apiVersion,
      kind: kustomization.kind,
      metadata: kustomization.metadata,
      spec: kustomization.spec,
    },
    { ...opts, dependsOn: [...deps.dependsOn, release, gitRepository] },
  );
  return {
    namespace,
    release,
    gitRepository,
    kustomization: applied,
    resources: [namespace, release, gitRepository, applied],
  };
}
