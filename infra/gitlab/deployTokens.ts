/**
 * Project deploy tokens (`/projects/:id/deploy_tokens`, Maintainer role): Flux's read access to the agent
 * project (`read_repository`). GitLab shows a token's value only in the answer that creates it, and a
 * deploy token has no description: its NAME carries this stack's identity (ownership.ts), and only tokens
 * whose name carries it are ever deleted by this stack, never one its state holds (`keep`).
 */
import type { GitlabApi } from "./client";
import { call, CallContext, callOrAbsent, isOutcomeUnknown } from "./errors";
import { ownedBy, Owner, ownerTag } from "./ownership";

export interface DeployTokenInfo {
  id: number;
  name: string;
  username: string;
  scopes: string[];
  revoked: boolean;
  expired: boolean;
}

export const FLUX_DEPLOY_TOKEN_SCOPES = ["read_repository"] as const;

const ctx = (project: string, action: string): CallContext => ({
  action,
  scope: "api",
  role: `Maintainer on ${project}`,
  target: `project ${project}`,
});

type Raw = Record<string, unknown>;

const toToken = (t: Raw): DeployTokenInfo => ({
  id: Number(t.id),
  name: String(t.name),
  username: String(t.username),
  scopes: (t.scopes as string[] | undefined) ?? [],
  revoked: t.revoked === true,
  expired: t.expired === true,
});

/** The name of Flux's deploy token: the agent, the rotation trigger (a new one = a new token), the owner. */
export const fluxDeployTokenName = (owner: Owner, agentName: string, rotation: string) =>
  `gitlab-eks flux ${agentName} ${rotation} ${ownerTag(owner)}`.slice(0, 255);

/** The project's active deploy tokens (neither revoked nor expired). */
export async function activeDeployTokens(api: GitlabApi, project: string): Promise<DeployTokenInfo[]> {
  const all = await call(ctx(project, `list the deploy tokens of ${project}`), () =>
    api.DeployTokens.all({ projectId: project, active: true }),
  );
  return (all as unknown as Raw[]).map(toToken).filter((t) => !t.revoked && !t.expired);
}

/** Deletes (revokes) a deploy token; one already gone is fine. */
export async function revokeDeployToken(api: GitlabApi, project: string, id: number): Promise<void> {
  await callOrAbsent(ctx(project, `revoke deploy token ${id} of ${project}`), () =>
    api.DeployTokens.remove(id, { projectId: project }),
  );
}

/** Revokes this stack's deploy tokens other than `keep`; returns them. Other tokens are never touched. */
export async function revokeStackDeployTokens(
  api: GitlabApi,
  project: string,
  owner: Owner,
  keep: number[] = [],
): Promise<DeployTokenInfo[]> {
  const stale = (await activeDeployTokens(api, project)).filter(
    (t) => ownedBy(t.name, owner) && !keep.includes(t.id),
  );
  for (const t of stale) await revokeDeployToken(api, project, t.id);
  return stale;
}

/** The deploy token whose value is read (a Pulumi secret), with its username. */
export async function showDeployToken(
  api: GitlabApi,
  project: string,
  id: number,
): Promise<DeployTokenInfo | undefined> {
  const raw = await callOrAbsent(ctx(project, `read deploy token ${id} of ${project}`), () =>
    api.DeployTokens.show(id, { projectId: project }),
  );
  const t = raw && toToken(raw as unknown as Raw);
  return t && !t.revoked && !t.expired ? t : undefined;
}

/**
 * Creates a `read_repository` deploy token named `name` (which must carry `owner`'s identity). First
 * revokes this stack's orphans (its tokens not in `keep`). A create whose answer is lost or ambiguous is
 * not resent: the token it may have made (this name, not there before) is looked up and revoked, since
 * its value is gone for good, then the token is created once more. Returns the value with the token.
 */
export async function createDeployToken(
  api: GitlabApi,
  project: string,
  name: string,
  options: { owner: Owner; keep?: number[] },
): Promise<{ token: DeployTokenInfo & { secret: string }; revoked: DeployTokenInfo[] }> {
  const { owner, keep = [] } = options;
  if (!ownedBy(name, owner)) throw new Error(`deploy token name "${name}" must carry ${ownerTag(owner)}`);
  const revoked = await revokeStackDeployTokens(api, project, owner, keep);
  const before = (await activeDeployTokens(api, project)).map((t) => t.id);
  const post = () =>
    call(ctx(project, `create a deploy token in ${project}`), () =>
      api.DeployTokens.create(name, [...FLUX_DEPLOY_TOKEN_SCOPES], { projectId: project }),
    );
  let body: Raw;
  try {
    body = (await post()) as unknown as Raw;
  } catch (e) {
    if (!isOutcomeUnknown(e)) throw e;
    const lost = (await activeDeployTokens(api, project)).filter(
      (t) => t.name === name && !before.includes(t.id) && !keep.includes(t.id),
    );
    for (const t of lost) await revokeDeployToken(api, project, t.id);
    revoked.push(...lost);
    body = (await post()) as unknown as Raw;
  }
  const secret = body.token;
  if (typeof secret !== "string" || !secret)
    throw new Error(`GitLab created deploy token ${String(body.id)} but returned no token value`);
  return { token: { ...toToken(body), secret }, revoked };
}
