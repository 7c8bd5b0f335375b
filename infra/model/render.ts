/**
 * Everything `gitlab-eks render` writes, as file name -> content, computed by the same pure functions the
 * Pulumi program uses. Secrets never appear here: they are shown as `[secret]`; facts only GitLab knows
 * at deploy time (KAS address, version, token id) are shown as `<...>` placeholders.
 */
import { stringify } from "yaml";
import type { StackConfig } from "../config/types";
import type { AgentConfig } from "../config/agent";
import { agentConfigFile, agentHelmValues, agentRbac, type AgentFacts } from "./agent";
import { exposedReceptiveUrl, receptiveService } from "./agentReceptive";
import { renderAutoscaler } from "./autoscalerRender";
import { agentFluxFiles, FLUX_CHART, fluxChartValues, fluxClusterObjects } from "./flux";
import { desiredNodePools } from "./nodePools";
import { renderRunner } from "./runnerRender";

export const SECRET = "[secret]";

export function renderStack(config: StackConfig): Record<string, string> {
  const files: Record<string, string> = {
    "node-pools.json": json(desiredNodePools(config)),
    ...renderRunner(config),
    ...renderAutoscaler(config),
  };
  for (const agent of config.agents) {
    // The first agent's files at the top, as for `gitlab-eks:agent`; every other one's in agents/<name>/.
    const at = agent.index === 0 ? "" : `agents/${agent.name}/`;
    const own: Record<string, string> = {};
    own["agent-config.yaml"] =
      `# ${agent.project}: .gitlab/agents/${agent.name}/config.yaml (committed by pulumi up)\n` +
      yaml(agentConfigFile(agent));
    if (agent.installMethod === "flux") Object.assign(own, renderFlux(config, agent));
    own["agent-values.yaml"] =
      `# Helm values of release ${agent.releaseName} (chart gitlab-agent ${agent.chartVersion}) in namespace ${agent.namespace}.\n` +
      `# The agent token is in Secret ${agent.tokenSecretName} (key token: ${SECRET}), never a value here.\n` +
      yaml(agentHelmValues(config, agent, placeholderFacts(agent)));
    own["agent-rbac.yaml"] = agentRbac(agent)
      .map((o) => yaml(o))
      .join("---\n");
    Object.assign(own, renderAgentModes(agent));
    for (const [name, content] of Object.entries(own)) files[`${at}${name}`] = content;
  }
  // One Flux per cluster, whichever agents it installs.
  const fluxAgent = config.agents.find((a) => a.installMethod === "flux");
  if (fluxAgent)
    files["flux/cluster/flux-values.yaml"] =
      `# Helm values of release flux (chart ${FLUX_CHART} ${fluxAgent.flux.chartVersion}) in namespace ${fluxAgent.flux.namespace}.\n` +
      yaml(fluxChartValues(config));
  return files;
}

/**
 * agent.rbac existing-service-account / existing-role: the stack adds no RBAC (said in the file, not left
 * empty); agent.receptive.expose: the Service in front of agentk's receptive API.
 */
function renderAgentModes(agent: AgentConfig): Record<string, string> {
  const files: Record<string, string> = {};
  if (agent.rbac === "existing-service-account" || agent.rbac === "existing-role")
    files["agent-rbac.yaml"] =
      `# agent.rbac ${agent.rbac}: the stack creates no RBAC objects; ` +
      (agent.rbac === "existing-role"
        ? `the chart binds its service account to ClusterRole ${agent.existingRole} (rbac.useExistingRole).\n`
        : `agentk runs as service account ${agent.existingServiceAccount}, with the permissions you gave it.\n`);
  const service = receptiveService(agent);
  if (service)
    files["agent-receptive-service.yaml"] =
      `# Without agent.receptive.url, GitLab connects to ${exposedReceptiveUrl("<this load balancer's address>")}.\n` +
      yaml(service);
  return files;
}

/** Facts only GitLab knows at deploy time, as placeholders. */
function placeholderFacts(agent: AgentConfig): AgentFacts {
  return {
    kasAddress: agent.kasAddress ?? "<kas.externalUrl from GET /metadata>",
    imageTag: agent.imageTag ?? "<v + KAS version from GET /metadata>",
    tokenId: "<agent token id>",
    jwtPublicKey: "<public_key of the receptive URL configuration>",
  };
}

/**
 * installMethod flux: under `flux/`, the files committed to the agent project's manifest folder (same
 * names, same content) and, under `flux/cluster/`, the agent's GitRepository and Kustomization (Flux's
 * chart values are written once, by renderStack).
 */
function renderFlux(config: StackConfig, agent: AgentConfig): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [repoPath, content] of Object.entries(agentFluxFiles(config, agent, placeholderFacts(agent))))
    files[`flux/${repoPath.slice(agent.flux.manifestPath.length + 1)}`] = content;
  const gitlabUrl = config.gitlab.url ?? "<CI_SERVER_URL, else https://gitlab.com>";
  for (const o of fluxClusterObjects(agent, gitlabUrl))
    files[`flux/cluster/${o.kind.toLowerCase()}.yaml`] = yaml(o);
  return files;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}
