/**
 * Agent tokens (`/projects/:id/cluster_agents/:agent_id/tokens`). GitLab shows a token's value only in
 * the answer that creates it and allows two active tokens per agent.
 *
 * Only tokens carrying this stack's identity in their description (ownership.ts) are ever revoked by
 * this stack, and of those never one that its state holds (`keep`): the token the cluster runs on is
 * revoked only after its replacement is stored and rolled out (see AgentTokenRetirement). Tokens of this
 * stack that no state holds are orphans (a create whose answer was lost): they are revoked on the next
 * create, or by the retirement step.
 */
import type { GitlabApi } from "./client";
import { call, CallContext, callOrAbsent, GitlabApiError, isOutcomeUnknown } from "./errors";
import { ownedBy, Owner, ownerTag } from "./ownership";

export interface AgentTokenInfo {
  id: number;
  name: string;
  description?: string | null;
  status?: string;
  lastUsedAt?: string | null;
  createdAt?: string;
}

/** GitLab allows two active tokens per agent (ACTIVE_TOKENS_LIMIT in agent_tokens/create_service.rb). */
export const ACTIVE_TOKEN_LIMIT = 2;

export const agentContext = (project: string, action: string): CallContext => ({
  action,
  scope: "api",
  role: `Maintainer on ${project}`,
  target: `project ${project}`,
});

type Raw = Record<string, unknown>;

function toToken(t: Raw): AgentTokenInfo {
  return {
    id: Number(t.id),
    name: String(t.name),
    description: (t.description as string | null | undefined) ?? null,
    status: t.status as string | undefined,
    lastUsedAt: (t.last_used_at as string | null | undefined) ?? null,
    createdAt: t.created_at as string | undefined,
  };
}

export async function activeTokens(
  api: GitlabApi,
  project: string,
  agentId: number,
): Promise<AgentTokenInfo[]> {
  const all = await call(agentContext(project, `list the tokens of cluster agent ${agentId}`), () =>
    api.Agents.allTokens(project, agentId),
  );
  return (all as unknown as Raw[])
    .map(toToken)
    .filter((t) => t.status === undefined || t.status === "active");
}

/**
 * Revokes the active tokens of this stack (`owner`) other than `keep`: orphans no state holds, or a
 * replaced token once its successor runs. Tokens of anyone else are never touched. Returns the revoked.
 */
export async function revokeStackTokens(
  api: GitlabApi,
  project: string,
  agentId: number,
  owner: Owner,
  keep: number[] = [],
): Promise<AgentTokenInfo[]> {
  const stale = (await activeTokens(api, project, agentId)).filter(
    (t) => ownedBy(t.description, owner) && !keep.includes(t.id),
  );
  for (const t of stale) await revokeAgentToken(api, project, agentId, t.id);
  return stale;
}

export interface CreateTokenOptions {
  /** Goes to GitLab with this stack's identity appended (when `owner` is set). */
  description?: string;
  /** This stack's identity: its tokens not in `keep` are revoked first, as orphans. */
  owner?: Owner;
  /** Token ids this stack's state holds (the token in use): never revoked here. */
  keep?: number[];
}

/**
 * Creates a token. First revokes this stack's orphans (its tokens not in `keep`); if the agent still has
 * two active tokens, fails naming them instead of revoking a token someone may be using. A create whose
 * answer is lost or ambiguous is not resent: the token it may have made is looked up (this stack's, not
 * there before) and revoked, since its value is gone for good, then the token is created once more.
 * Returns the token secret, which GitLab shows only in this response.
 */
export async function createAgentToken(
  api: GitlabApi,
  project: string,
  agentId: number,
  name: string,
  options: CreateTokenOptions = {},
): Promise<{ token: AgentTokenInfo & { secret: string }; revoked: AgentTokenInfo[] }> {
  const { owner, keep = [] } = options;
  const revoked = owner ? await revokeStackTokens(api, project, agentId, owner, keep) : [];
  const active = await activeTokens(api, project, agentId);
  if (active.length >= ACTIVE_TOKEN_LIMIT) {
    const list = active
      .map((t) => `"${t.name}" (id ${t.id}${keep.includes(t.id) ? ", in use by this stack" : ""})`)
      .join(", ");
    throw new GitlabApiError(
      `Cannot create a token for cluster agent ${agentId} in ${project}: it has ${active.length} active tokens, ` +
        `the most GitLab allows, and none is an orphan of this stack: ${list}. This stack revokes only its own ` +
        "tokens that no state holds. Revoke the one that is not in use in GitLab (Operate > Kubernetes clusters > " +
        "the agent > Access tokens), then run again.",
    );
  }
  const description =
    owner && !ownedBy(options.description, owner)
      ? `${options.description ?? "gitlab-eks"} ${ownerTag(owner)}`
      : options.description;
  const post = () =>
    call(agentContext(project, `create a token for cluster agent ${agentId} in ${project}`), () =>
      // gitbeaker 43.8's Agents.createToken sends a GET (it would only list tokens): post directly.
      api.Agents.requester.post<Raw>(
        `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/tokens`,
        { body: { name, ...(description ? { description } : {}) } },
      ),
    );
  let response: Awaited<ReturnType<typeof post>>;
  try {
    response = await post();
  } catch (e) {
    if (!isOutcomeUnknown(e) || !owner) throw e;
    const before = active.map((t) => t.id);
    const lost = (await activeTokens(api, project, agentId)).filter(
      (t) => ownedBy(t.description, owner) && !keep.includes(t.id) && !before.includes(t.id),
    );
    for (const t of lost) await revokeAgentToken(api, project, agentId, t.id);
    revoked.push(...lost);
    response = await post();
  }
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
  const raw = await callOrAbsent(
    agentContext(project, `read token ${tokenId} of cluster agent ${agentId}`),
    () => api.Agents.showToken(project, agentId, tokenId),
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
  await callOrAbsent(agentContext(project, `revoke token ${tokenId} of cluster agent ${agentId}`), () =>
    api.Agents.removeToken(project, agentId, tokenId),
  );
}
