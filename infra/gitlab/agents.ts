/**
 * Cluster agents and their tokens (`/projects/:id/cluster_agents`). Every function is idempotent: it
 * finds before it creates, and treats "already gone" as done.
 */
import type { GitlabApi } from "./client";
import { call, CallContext, callOrAbsent, describeGitlabError, statusOf } from "./errors";

export interface AgentInfo {
  id: number;
  name: string;
  configProject?: string;
}

export interface AgentTokenInfo {
  id: number;
  name: string;
  status?: string;
  lastUsedAt?: string | null;
  createdAt?: string;
}

/** GitLab allows two active tokens per agent (ACTIVE_TOKENS_LIMIT in agent_tokens/create_service.rb). */
export const ACTIVE_TOKEN_LIMIT = 2;

const ctx = (project: string, action: string): CallContext => ({
  action,
  scope: "api",
  role: `Maintainer on ${project}`,
  target: `project ${project}`,
});

type Raw = Record<string, unknown>;

function toAgent(a: Raw): AgentInfo {
  const cp = a.config_project as Raw | undefined;
  return {
    id: Number(a.id),
    name: String(a.name),
    configProject: cp?.path_with_namespace as string | undefined,
  };
}

function toToken(t: Raw): AgentTokenInfo {
  return {
    id: Number(t.id),
    name: String(t.name),
    status: t.status as string | undefined,
    lastUsedAt: (t.last_used_at as string | null | undefined) ?? null,
    createdAt: t.created_at as string | undefined,
  };
}

export async function findAgent(
  api: GitlabApi,
  project: string,
  name: string,
): Promise<AgentInfo | undefined> {
  const all = await call(ctx(project, `list the cluster agents of ${project}`), () =>
    api.Agents.all(project),
  );
  const found = (all as unknown as Raw[]).find((a) => a.name === name);
  return found && toAgent(found);
}

/** The agent named `name` in `project`: adopted when it exists, registered otherwise. */
export async function ensureAgent(
  api: GitlabApi,
  project: string,
  name: string,
): Promise<{ agent: AgentInfo; created: boolean }> {
  const existing = await findAgent(api, project, name);
  if (existing) return { agent: existing, created: false };
  const created = await call(ctx(project, `register cluster agent "${name}" in ${project}`), () =>
    api.Agents.register(project, name),
  );
  return { agent: toAgent(created as unknown as Raw), created: true };
}

export async function showAgent(
  api: GitlabApi,
  project: string,
  agentId: number,
): Promise<AgentInfo | undefined> {
  const a = await callOrAbsent(ctx(project, `read cluster agent ${agentId} in ${project}`), () =>
    api.Agents.show(project, agentId),
  );
  return a && toAgent(a as unknown as Raw);
}

/** Deletes the agent (and with it its tokens); an agent already gone is fine. */
export async function deleteAgent(api: GitlabApi, project: string, agentId: number): Promise<void> {
  await callOrAbsent(ctx(project, `delete cluster agent ${agentId} in ${project}`), () =>
    api.Agents.unregister(project, agentId),
  );
}

export async function activeTokens(
  api: GitlabApi,
  project: string,
  agentId: number,
): Promise<AgentTokenInfo[]> {
  const all = await call(ctx(project, `list the tokens of cluster agent ${agentId}`), () =>
    api.Agents.allTokens(project, agentId),
  );
  return (all as unknown as Raw[])
    .map(toToken)
    .filter((t) => t.status === undefined || t.status === "active");
}

/**
 * Creates a token, making room first if the agent already has two active ones: the least recently used
 * token whose name does not start with `managedPrefix` is revoked (a leftover from a manual
 * `glab cluster agent bootstrap`, say); if all are ours, the oldest. GitLab never sees a third create.
 * Returns the token secret, which GitLab shows only in this response.
 */
export async function createAgentToken(
  api: GitlabApi,
  project: string,
  agentId: number,
  name: string,
  options: { description?: string; managedPrefix?: string } = {},
): Promise<{ token: AgentTokenInfo & { secret: string }; revoked: AgentTokenInfo[] }> {
  const revoked: AgentTokenInfo[] = [];
  const active = await activeTokens(api, project, agentId);
  const excess = active.length - (ACTIVE_TOKEN_LIMIT - 1);
  if (excess > 0) {
    const byAge = (t: AgentTokenInfo) => Date.parse(t.lastUsedAt ?? t.createdAt ?? "") || 0;
    const prefix = options.managedPrefix;
    const candidates = [...active].sort((a, b) => {
      const foreign = (t: AgentTokenInfo) => (prefix && !t.name.startsWith(prefix) ? 0 : 1);
      return foreign(a) - foreign(b) || byAge(a) - byAge(b);
    });
    for (const t of candidates.slice(0, excess)) {
      await revokeAgentToken(api, project, agentId, t.id);
      revoked.push(t);
    }
  }
  // gitbeaker 43.8's Agents.createToken sends a GET (it would only list tokens): post directly.
  const response = await call(ctx(project, `create a token for cluster agent ${agentId} in ${project}`), () =>
    api.Agents.requester.post<Raw>(
      `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/tokens`,
      {
        body: { name, ...(options.description ? { description: options.description } : {}) },
      },
    ),
  );
  const body = response.body as Raw;
  const secret = body.token;
  if (typeof secret !== "string" || !secret)
    throw new Error(`GitLab created agent token ${String(body.id)} but returned no token value`);
  return { token: { ...toToken(body), secret }, revoked };
}

export async function showAgentToken(
  api: GitlabApi,
  project: string,
  agentId: number,
  tokenId: number,
): Promise<AgentTokenInfo | undefined> {
  const raw = await callOrAbsent(ctx(project, `read token ${tokenId} of cluster agent ${agentId}`), () =>
    api.Agents.showToken(project, agentId, tokenId),
  );
  const t = raw && toToken(raw as unknown as Raw);
  return t?.status === "revoked" ? undefined : t;
}

/** Revokes a token; one already revoked or gone is fine. */
export async function revokeAgentToken(
  api: GitlabApi,
  project: string,
  agentId: number,
  tokenId: number,
): Promise<void> {
  await callOrAbsent(ctx(project, `revoke token ${tokenId} of cluster agent ${agentId}`), () =>
    api.Agents.removeToken(project, agentId, tokenId),
  );
}

export interface UrlConfiguration {
  id: number;
  url: string;
  publicKey?: string;
}

const receptiveHint =
  "Receptive agents need GitLab Ultimate on a self-managed instance (17.4+) with receptive agents enabled " +
  "(GitLab answers 404 otherwise). Remove gitlab-eks:agent.receptiveUrl to use the usual outbound connection.";

/** The agent's receptive URL configuration (JWT mode): adopted when one with this URL exists. */
export async function ensureUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  url: string,
): Promise<{ config: UrlConfiguration; created: boolean }> {
  const base = `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations`;
  const c = {
    ...ctx(project, `configure receptive agent ${agentId} at ${url}`),
    target: `receptive agents on this instance`,
  };
  const toConfig = (r: Raw): UrlConfiguration => ({
    id: Number(r.id),
    url: String(r.url),
    publicKey: r.public_key as string | undefined,
  });
  let existing: Raw[];
  try {
    existing = (await api.Agents.requester.get<Raw[]>(base)).body as Raw[];
  } catch (e) {
    if (statusOf(e) === 404) throw new Error(`Cannot configure receptive agent ${agentId}: ${receptiveHint}`);
    throw describeGitlabError(e, c);
  }
  const same = existing.find((r) => r.url === url);
  if (same) return { config: toConfig(same), created: false };
  for (const old of existing) await deleteUrlConfiguration(api, project, agentId, Number(old.id));
  const created = await call(c, () => api.Agents.requester.post<Raw>(base, { body: { url } }));
  return { config: toConfig(created.body as Raw), created: true };
}

export async function deleteUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  id: number,
): Promise<void> {
  await callOrAbsent(ctx(project, `delete the receptive URL configuration of agent ${agentId}`), () =>
    api.Agents.requester.delete(
      `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations/${id}`,
    ),
  );
}
