/**
 * A receptive agent's URL configuration (`/projects/:id/cluster_agents/:agent_id/url_configurations`,
 * GitLab Ultimate self-managed 17.4+): where GitLab connects to the agent. GitLab allows one per agent.
 */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce, describeGitlabError, GitlabApiError, statusOf } from "./errors";
import { agentContext } from "./agentTokens";

export interface UrlConfiguration {
  id: number;
  url: string;
  publicKey?: string;
}

type Raw = Record<string, unknown>;

const receptiveHint =
  "Receptive agents need GitLab Ultimate on a self-managed instance (17.4+) with receptive agents enabled " +
  "(GitLab answers 404 otherwise). Remove gitlab-eks:agent.receptiveUrl to use the usual outbound connection.";

const toConfig = (r: Raw): UrlConfiguration => ({
  id: Number(r.id),
  url: String(r.url),
  publicKey: r.public_key as string | undefined,
});

/**
 * The agent's receptive URL configuration (JWT mode). One with this URL already there is used and
 * reported `created: false` (an adopted agent's is released, not deleted, on destroy). One with another
 * URL is replaced only on an agent this stack registered (`agentOwned`); on an adopted agent it is refused.
 * A create whose answer was lost is found by its URL in the same run.
 */
export async function ensureUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  url: string,
  options: { agentOwned?: boolean } = {},
): Promise<{ config: UrlConfiguration; created: boolean }> {
  const base = `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations`;
  const c = {
    ...agentContext(project, `configure receptive agent ${agentId} at ${url}`),
    target: `receptive agents on this instance`,
  };
  const list = async (): Promise<Raw[]> => {
    try {
      return (await api.Agents.requester.get<Raw[]>(base)).body as Raw[];
    } catch (e) {
      if (statusOf(e) === 404)
        throw new Error(`Cannot configure receptive agent ${agentId}: ${receptiveHint}`);
      throw describeGitlabError(e, c);
    }
  };
  const existing = await list();
  const same = existing.find((r) => r.url === url);
  if (same) return { config: toConfig(same), created: false };
  if (existing.length && options.agentOwned === false)
    throw new GitlabApiError(
      `Cannot configure receptive agent ${agentId} at ${url}: the adopted agent already has a URL ` +
        `configuration for ${existing.map((r) => String(r.url)).join(", ")}, and GitLab allows one. This stack ` +
        "does not delete what it adopted: delete it in GitLab, or set gitlab-eks:agent.receptiveUrl to that URL.",
    );
  for (const old of existing) await deleteUrlConfiguration(api, project, agentId, Number(old.id));
  const { value } = await createOnce(
    async () =>
      toConfig((await call(c, () => api.Agents.requester.post<Raw>(base, { body: { url } }))).body as Raw),
    async () => {
      const found = (await list()).find((r) => r.url === url);
      return found && toConfig(found);
    },
  );
  return { config: value, created: true };
}

export async function deleteUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  id: number,
): Promise<void> {
  await callOrAbsent(
    agentContext(project, `delete the receptive URL configuration of agent ${agentId}`),
    () =>
      api.Agents.requester.delete(
        `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations/${id}`,
      ),
  );
}
