/**
 * Cluster agents (`/projects/:id/cluster_agents`). Every function is idempotent: it finds before it
 * creates, and treats "already gone" as done.
 *
 * Ownership: an agent this stack did not register is never taken over silently. An existing agent of the
 * same name is refused with what GitLab shows about its owner (the config file header, the tokens), unless
 * the stack adopts it (`agent.adopt`); an agent whose config file or tokens name another stack is always
 * refused, as two stacks sharing an agent would revoke each other's tokens.
 */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce, GitlabApiError } from "./errors";
import { defaultBranch, readFile } from "./files";
import { activeTokens, agentContext } from "./agentTokens";
import { Owner, ownersIn } from "./ownership";

export * from "./agentTokens";
export * from "./urlConfigurations";

export interface AgentInfo {
  id: number;
  name: string;
  configProject?: string;
  createdAt?: string;
  createdByUserId?: number | null;
}

type Raw = Record<string, unknown>;

function toAgent(a: Raw): AgentInfo {
  const cp = a.config_project as Raw | undefined;
  return {
    id: Number(a.id),
    name: String(a.name),
    configProject: cp?.path_with_namespace as string | undefined,
    createdAt: a.created_at as string | undefined,
    createdByUserId: (a.created_by_user_id as number | null | undefined) ?? null,
  };
}

export async function findAgent(
  api: GitlabApi,
  project: string,
  name: string,
): Promise<AgentInfo | undefined> {
  const all = await call(agentContext(project, `list the cluster agents of ${project}`), () =>
    api.Agents.all(project),
  );
  const found = (all as unknown as Raw[]).find((a) => a.name === name);
  return found && toAgent(found);
}

/** Where GitLab reads an agent's configuration. */
export const agentConfigFilePath = (name: string) => `.gitlab/agents/${name}/config.yaml`;

export interface OwnershipOptions {
  /** This stack's identity (ownership.ts); without it no existing agent counts as this stack's. */
  owner?: Owner;
  /** Use an agent this stack did not register (released, never deleted, on destroy). */
  adopt?: boolean;
  /** Where the agent's settings are (`gitlab-eks:agent` or `gitlab-eks:agents[<i>]`); refusals name it. */
  configKey?: string;
}

/**
 * How this stack may use the agent named `name`: `new` (none exists: register it), `ours` (its config file
 * or tokens carry this stack's identity), `adopted` (exists, no stack's identity, and adopt is set), or
 * `refused` with the reason and the fix.
 */
export type AgentClaim =
  | { kind: "new" }
  | { kind: "ours" | "adopted"; agent: AgentInfo }
  | { kind: "refused"; agent: AgentInfo; reason: string };

export async function claimAgent(
  api: GitlabApi,
  project: string,
  name: string,
  options: OwnershipOptions = {},
): Promise<AgentClaim> {
  const agent = await findAgent(api, project, name);
  if (!agent) return { kind: "new" };
  const key = options.configKey ?? "gitlab-eks:agent";
  const path = agentConfigFilePath(name);
  const branch = await defaultBranch(api, project);
  const file = await readFile(api, project, path, branch);
  const tokens = await activeTokens(api, project, agent.id);
  const fileOwners = ownersIn(file?.content.split("\n", 3).join("\n"));
  const tokenOwners = tokens.flatMap((t) => ownersIn(t.description));
  const owners = [...new Set([...fileOwners, ...tokenOwners])];
  if (options.owner && owners.includes(options.owner))
    return { kind: options.adopt ? "adopted" : "ours", agent };
  const evidence = [
    `registered${agent.createdAt ? ` ${agent.createdAt}` : ""}${agent.createdByUserId ? ` by user ${agent.createdByUserId}` : ""}`,
    !file
      ? `no ${path}`
      : fileOwners.length
        ? `${path} names ${fileOwners.join(", ")}`
        : `${path} without a gitlab-eks header`,
    tokens.length
      ? `active tokens: ${tokens.map((t) => `"${t.name}"${ownersIn(t.description).length ? ` (${ownersIn(t.description).join(", ")})` : ""}`).join(", ")}`
      : "no active token",
  ].join("; ");
  if (owners.length)
    return {
      kind: "refused",
      agent,
      reason:
        `agent "${name}" in ${project} belongs to gitlab-eks stack ${owners.join(", ")} (${evidence}). Two stacks ` +
        `cannot share an agent: each would revoke the other's tokens. Give this stack its own ${key}.name.`,
    };
  if (options.adopt) return { kind: "adopted", agent };
  return {
    kind: "refused",
    agent,
    reason:
      `agent "${name}" already exists in ${project} and this stack did not register it (${evidence}). ` +
      `Set ${key}.adopt to true to use it (pulumi destroy then leaves it in GitLab and revokes only ` +
      `this stack's tokens), or give this stack another ${key}.name.`,
  };
}

/**
 * The agent named `name` in `project`: registered when none exists, this stack's own when it carries this
 * stack's identity, adopted when `adopt` allows it; refused otherwise (GitlabApiError with the reason).
 * A registration whose answer was lost is found by name in the same run, never sent twice.
 */
export async function ensureAgent(
  api: GitlabApi,
  project: string,
  name: string,
  options: OwnershipOptions = {},
): Promise<{ agent: AgentInfo; created: boolean; adopted: boolean }> {
  const claim = await claimAgent(api, project, name, options);
  if (claim.kind === "refused") throw new GitlabApiError(`Cannot use cluster agent ${name}: ${claim.reason}`);
  if (claim.kind !== "new") return { agent: claim.agent, created: false, adopted: claim.kind === "adopted" };
  const { value } = await createOnce(
    async () =>
      toAgent(
        (await call(agentContext(project, `register cluster agent "${name}" in ${project}`), () =>
          api.Agents.register(project, name),
        )) as unknown as Raw,
      ),
    () => findAgent(api, project, name),
  );
  return { agent: value, created: true, adopted: false };
}

export async function showAgent(
  api: GitlabApi,
  project: string,
  agentId: number,
): Promise<AgentInfo | undefined> {
  const a = await callOrAbsent(agentContext(project, `read cluster agent ${agentId} in ${project}`), () =>
    api.Agents.show(project, agentId),
  );
  return a && toAgent(a as unknown as Raw);
}

/** Deletes the agent (and with it its tokens); an agent already gone is fine. */
export async function deleteAgent(api: GitlabApi, project: string, agentId: number): Promise<void> {
  await callOrAbsent(agentContext(project, `delete cluster agent ${agentId} in ${project}`), () =>
    api.Agents.unregister(project, agentId),
  );
}
