/**
 * The GitOps install of the agent (`agent.installMethod: flux`), as plain data: what
 * `glab cluster agent bootstrap` would produce. In the agent project, under `agent.flux.manifestPath`, the
 * agent's HelmRepository and HelmRelease (whose values are exactly the direct install's, from
 * agentHelmValues); in the cluster, Flux's controllers (the fluxcd-community `flux2` chart, kept off
 * runner nodes by the isolation rule) and the GitRepository and Kustomization that point Flux at that
 * folder. No token is in any of them: the agent token stays in the Secret the stack creates (named by
 * `config.secretName`), and Flux reads the repository with a deploy token held in the Secret named
 * FLUX_GIT_SECRET.
 */
import { stringify } from "yaml";
import type { AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { AGENT_CHART, AGENT_CHART_REPO, agentHelmValues, type AgentFacts } from "./agent";
import { isolationRule, managerPodPlacement, type PodPlacement } from "./isolation";

export const FLUX_CHART_REPO = "https://fluxcd-community.github.io/helm-charts";
export const FLUX_CHART = "flux2";
export const FLUX_SOURCE_API = "source.toolkit.fluxcd.io/v1";
export const FLUX_HELM_API = "helm.toolkit.fluxcd.io/v2";
export const FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1";
/**
 * The Secret (in Flux's namespace) holding the GitLab deploy token (`read_repository`) with which Flux
 * clones the agent project over HTTPS: basic auth, keys `username` and `password`.
 */
export const FLUX_GIT_SECRET = "gitlab-agent-flux-deploy-token";
export const FLUX_GIT_SECRET_KEYS = ["username", "password"] as const;
/**
 * That Secret's name for one agent: FLUX_GIT_SECRET for the first (as a one-agent stack always had it),
 * `<FLUX_GIT_SECRET>-<agent name>` for every other agent, since all share Flux's namespace.
 */
export const fluxGitSecretName = (agent: AgentConfig) =>
  agent.index === 0 ? FLUX_GIT_SECRET : `${FLUX_GIT_SECRET}-${agent.name}`;
/**
 * Every pod of the flux2 chart, as the values key that places it (nodeSelector/affinity/tolerations):
 * the controllers, the pre-install check job (`cli`) and the pre-upgrade CRD migration job
 * (`crds.migration`). Image automation is off, as in Flux's default install.
 */
export const FLUX_PODS = [
  "sourceController",
  "kustomizeController",
  "helmController",
  "notificationController",
  "sourceWatcher",
  "imageAutomationController",
  "imageReflectionController",
  "cli",
  "crds.migration",
] as const;
const FLUX_OFF = new Set<string>(["imageAutomationController", "imageReflectionController"]);

const labels = (agent: AgentConfig) => ({
  "app.kubernetes.io/managed-by": "gitlab-eks",
  "gitlab-eks/agent": agent.name,
});

/** Values of the flux2 chart: every pod of it on the system pool, kept off runner nodes. */
export function fluxChartValues(config: StackConfig): Record<string, unknown> {
  const placement: PodPlacement = managerPodPlacement(isolationRule(config.isolation), "system-pool");
  const values: Record<string, unknown> = { installCRDs: true };
  for (const pod of FLUX_PODS) {
    const keys = pod.split(".");
    let at = values;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
    at[keys[keys.length - 1]] = {
      ...(FLUX_OFF.has(pod) ? { create: false } : {}),
      nodeSelector: { ...placement.nodeSelector },
      affinity: structuredClone(placement.affinity),
      tolerations: [...placement.tolerations],
    };
  }
  return values;
}

export interface FluxObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The agent's HelmRepository and HelmRelease: what is committed under `agent.flux.manifestPath`. */
export function agentFluxManifests(config: StackConfig, agent: AgentConfig, facts: AgentFacts): FluxObject[] {
  const ns = agent.flux.namespace;
  const name = agent.releaseName;
  return [
    {
      apiVersion: FLUX_SOURCE_API,
      kind: "HelmRepository",
      metadata: { name, namespace: ns, labels: labels(agent) },
      spec: { interval: "1h", url: AGENT_CHART_REPO },
    },
    {
      apiVersion: FLUX_HELM_API,
      kind: "HelmRelease",
      metadata: { name, namespace: ns, labels: labels(agent) },
      spec: {
        interval: "10m",
        releaseName: agent.releaseName,
        targetNamespace: agent.namespace,
        // Helm's release record lives with the agent, as with the direct install.
        storageNamespace: agent.namespace,
        chart: {
          spec: {
            chart: AGENT_CHART,
            version: agent.chartVersion,
            sourceRef: { kind: "HelmRepository", name, namespace: ns },
          },
        },
        // The namespace (with the token Secret and RBAC) is the stack's: Flux does not create it.
        install: { createNamespace: false, remediation: { retries: 3 } },
        upgrade: { remediation: { retries: 3 } },
        values: agentHelmValues(config, agent, facts),
      },
    },
  ];
}

/** File name in the manifest folder of each committed object. */
export const fluxManifestFile = (o: FluxObject) =>
  o.kind === "HelmRepository" ? "gitlab-agent-helm-repository.yaml" : "gitlab-agent-helm-release.yaml";

/** Path in the agent project -> content, exactly as committed (and as `render` writes under `flux/`). */
export function agentFluxFiles(
  config: StackConfig,
  agent: AgentConfig,
  facts: AgentFacts,
): Record<string, string> {
  // The stack's identity in the form infra/gitlab/ownership.ts reads: the file is this stack's to rewrite.
  const header =
    `# Managed by gitlab-eks [gitlab-eks:${config.project}/${config.stack}] (cluster ${config.cluster.name}): pulumi up rewrites this file.\n` +
    `# Flux reconciles it; the agent token is in Secret ${agent.tokenSecretName} in namespace ${agent.namespace}, never here.\n`;
  return Object.fromEntries(
    agentFluxManifests(config, agent, facts).map((o) => [
      `${agent.flux.manifestPath}/${fluxManifestFile(o)}`,
      header + stringify(o, { lineWidth: 0 }),
    ]),
  );
}

/**
 * The environment's `flux_resource_path`: the agent's HelmRelease as GitLab's environment page reads it,
 * `<group>/<version>/namespaces/<namespace>/helmreleases/<name>`.
 */
export const fluxResourcePath = (agent: AgentConfig) =>
  `${FLUX_HELM_API}/namespaces/${agent.flux.namespace}/helmreleases/${agent.releaseName}`;

/** HTTPS clone URL of the agent project (a path: validation refuses a numeric id with installMethod flux). */
export const agentProjectCloneUrl = (gitlabUrl: string, agent: AgentConfig) =>
  `${gitlabUrl.replace(/\/+$/, "")}/${agent.project}.git`;

/** The cluster-side GitRepository and Kustomization pointing Flux at the agent project's manifest folder. */
export function fluxClusterObjects(agent: AgentConfig, gitlabUrl: string): FluxObject[] {
  const ns = agent.flux.namespace;
  const name = `gitlab-agent-${agent.name}`;
  return [
    {
      apiVersion: FLUX_SOURCE_API,
      kind: "GitRepository",
      metadata: { name, namespace: ns, labels: labels(agent) },
      spec: {
        interval: "1m",
        url: agentProjectCloneUrl(gitlabUrl, agent),
        ref: { branch: agent.flux.branch },
        // Basic auth with a deploy token: the Secret's name only, never its content.
        secretRef: { name: fluxGitSecretName(agent) },
      },
    },
    {
      apiVersion: FLUX_KUSTOMIZE_API,
      kind: "Kustomization",
      metadata: { name, namespace: ns, labels: labels(agent) },
      spec: {
        interval: "10m",
        path: `./${agent.flux.manifestPath}`,
        prune: true,
        // Ready only once the HelmRelease it applied is Ready.
        wait: true,
        timeout: "10m",
        sourceRef: { kind: "GitRepository", name },
      },
    },
  ];
}
