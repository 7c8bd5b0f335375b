/**
 * `agent.installMethod: flux` in the cluster: Flux's controllers (pinned flux2 chart, on the system pool),
 * installed once per cluster however many agents it installs, and for each such agent the GitRepository
 * and Kustomization that point Flux at that agent project's manifest folder. The agent's namespace, token
 * Secret and RBAC are created by deployAgent as for the direct install; Flux then installs the agent from
 * the HelmRelease in that folder.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { FLUX_CHART, FLUX_CHART_REPO, fluxChartValues, fluxClusterObjects } from "../model/flux";

/** Flux's controllers, shared by every agent installed through Flux. */
export interface FluxController {
  namespace: k8s.core.v1.Namespace;
  release: k8s.helm.v3.Release;
}

export interface FluxSources {
  gitRepository: k8s.apiextensions.CustomResource;
  kustomization: k8s.apiextensions.CustomResource;
}

export type FluxDeployment = FluxController & FluxSources & { resources: pulumi.Resource[] };

/**
 * The flux2 release, once, when any agent is installed through Flux (validation makes their
 * flux.namespace and flux.chartVersion the same). `namespace` is Flux's, from agentNamespaces.
 */
export function deployFluxController(
  config: StackConfig,
  deps: {
    provider: k8s.Provider;
    /** The cluster's readiness (CoreDNS). */
    dependsOn: pulumi.Resource[];
    namespaceOf: (name: string) => k8s.core.v1.Namespace;
  },
): FluxController | undefined {
  const agent = config.agents.find((a) => a.installMethod === "flux");
  if (!agent) return undefined;
  const ns = agent.flux.namespace;
  const namespace = deps.namespaceOf(ns);
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
    { provider: deps.provider, dependsOn: [...deps.dependsOn, namespace] },
  );
  return { namespace, release };
}

/**
 * One agent's GitRepository and Kustomization. Their Pulumi names carry the objects' names
 * (`gitlab-agent-<agent name>`), so they are the agent's own without a suffix.
 */
export function deployFluxSources(
  agent: AgentConfig,
  deps: {
    provider: k8s.Provider;
    controller: FluxController;
    /** The cluster's readiness and the agent's namespace, token Secret and RBAC. */
    dependsOn: pulumi.Resource[];
    gitlabUrl: string;
    /** The Secret holding the deploy token the GitRepository names: source-controller never fetches without it. */
    gitSecret: pulumi.Resource;
  },
): FluxSources {
  const opts = { provider: deps.provider };
  const { release } = deps.controller;
  // Their CRDs come with the chart: both wait for the release (docs/gitops.md, "Flux's objects before
  // their CRDs": preview skips a custom resource whose kind the cluster does not serve yet, and up creates
  // it only after the release, retrying while the new CRDs are being established).
  const [repo, kustomization] = fluxClusterObjects(agent, deps.gitlabUrl);
  const gitRepository = new k8s.apiextensions.CustomResource(
    `flux-gitrepository-${repo.metadata.name}`,
    { apiVersion: repo.apiVersion, kind: repo.kind, metadata: repo.metadata, spec: repo.spec },
    { ...opts, dependsOn: [...deps.dependsOn, release, deps.gitSecret] },
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
  return { gitRepository, kustomization: applied };
}
