/**
 * Project deploy tokens (`/projects/:id/deploy_tokens`, Maintainer role): Flux's read access to the agent
 * project (`read_repository`). GitLab shows a token's value only in the answer that creates it, and a
 * deploy token has no description: its NAME carries this stack's identity (ownership.ts), and only tokens
 * whose name carries it are ever deleted by this stack, never one its state holds (`keep`). The name also
 * carries the agent's: several agents of one stack may have deploy tokens in one project, and each agent's
 * token lifecycle touches only its own.
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

/** How every deploy token name of one agent starts (agent names are DNS labels: no space inside). */
const agentPrefix = (agentName: string) => `gitlab-eks flux ${agentName} `;

/** The name of Flux's deploy token: the agent, the rotation trigger (a new one = a new token), the owner. */
export const fluxDeployTokenName = (owner: Owner, agentName: string, rotation: string) =>
  `${agentPrefix(agentName)}${rotation} ${ownerTag(owner)}`.slice(0, 255);

/** The agent a deploy token name made by fluxDeployTokenName is for; undefined for any other name. */
export const deployTokenAgent = (name: string): string | undefined =>
  /^gitlab-eks flux (\S+) /.exec(name)?.[1];

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

/**
 * Revokes this stack's deploy tokens of agent `agentName` other than `keep`; returns them. Tokens of the
 * stack's other agents, of other stacks and of people are never touched.
 */
export async function revokeStackDeployTokens(
  api: GitlabApi,
  project: string,
  owner: Owner,
  agentName: string,
  keep: number[] = [],
): Promise<DeployTokenInfo[]> {
  const stale = (await activeDeployTokens(api, project)).filter(
    (t) => ownedBy(t.name, owner) && t.name.startsWith(agentPrefix(agentName)) && !keep.includes(t.id),
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
 * Creates a `read_repository` deploy token named `name` (made by fluxDeployTokenName: it carries `owner`'s
 * identity and the agent's name). First revokes this stack's orphans of that agent (its tokens not in `keep`). A create whose answer is lost or ambiguous is
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
  const agentName = deployTokenAgent(name);
  if (!ownedBy(name, owner) || !agentName)
    throw new Error(`deploy token name "${name}" must be made by fluxDeployTokenName (${ownerTag(owner)})`);
  const revoked = await revokeStackDeployTokens(api, project, owner, agentName, keep);
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
