/**
 * Everything `gitlab-eks render` writes, as file name -> content, computed by the same pure functions the
 * Pulumi program uses. Secrets never appear here: they are shown as `[secret]`; facts only GitLab knows
 * at deploy time (KAS address, version, token id) are shown as `<...>` placeholders.
 */
import { stringify } from "yaml";
import type { StackConfig } from "../config/types";
import { agentConfigFile, agentHelmValues, agentRbac } from "./agent";
import { renderAutoscaler } from "./autoscalerRender";
import { desiredNodePools } from "./nodePools";
import { renderRunner } from "./runnerRender";

export const SECRET = "[secret]";

export function renderStack(config: StackConfig): Record<string, string> {
  const files: Record<string, string> = {
    "node-pools.json": json(desiredNodePools(config)),
    ...renderRunner(config),
    ...renderAutoscaler(config),
  };
  const agent = config.agent;
  if (agent) {
    files["agent-config.yaml"] =
      `# ${agent.project}: .gitlab/agents/${agent.name}/config.yaml (committed by pulumi up)\n` +
      yaml(agentConfigFile(agent));
    files["agent-values.yaml"] =
      `# Helm values of release ${agent.releaseName} (chart gitlab-agent ${agent.chartVersion}) in namespace ${agent.namespace}.\n` +
      `# The agent token is in Secret gitlab-agent-token (key token: ${SECRET}), never a value here.\n` +
      yaml(
        agentHelmValues(config, agent, {
          kasAddress: agent.kasAddress ?? "<kas.externalUrl from GET /metadata>",
          imageTag: agent.imageTag ?? "<v + KAS version from GET /metadata>",
          tokenId: "<agent token id>",
          jwtPublicKey: "<public_key of the receptive URL configuration>",
        }),
      );
    files["agent-rbac.yaml"] = agentRbac(agent)
      .map((o) => yaml(o))
      .join("---\n");
  }
  return files;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}
