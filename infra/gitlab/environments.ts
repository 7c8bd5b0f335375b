/** Environments (`/projects/:id/environments`): one per stack, linked to the cluster agent. */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce } from "./errors";

export interface EnvironmentSpec {
  name: string;
  tier: string;
  clusterAgentId: number;
  kubernetesNamespace: string;
  externalUrl?: string;
  /**
   * The Flux resource the environment page shows (`<group>/<version>/namespaces/<ns>/<kind plural>/<name>`);
   * null clears it, undefined leaves it as it is.
   */
  fluxResourcePath?: string | null;
  /** Set only when the environment is created (it carries the stack's identity); never edited. */
  description?: string;
}

export interface EnvironmentInfo {
  id: number;
  name: string;
  tier?: string;
  clusterAgentId?: number | null;
  kubernetesNamespace?: string | null;
  externalUrl?: string | null;
  fluxResourcePath?: string | null;
  description?: string | null;
}

type Raw = Record<string, unknown>;
const ctx = (project: string, action: string, tokenVariable?: string) => ({
  action,
  scope: "api",
  role: `Developer on ${project}`,
  target: `project ${project}`,
  tokenVariable,
});

function toEnv(e: Raw): EnvironmentInfo {
  const agent = e.cluster_agent as Raw | null | undefined;
  return {
    id: Number(e.id),
    name: String(e.name),
    tier: e.tier as string | undefined,
    clusterAgentId: agent ? Number(agent.id) : ((e.cluster_agent_id as number | null | undefined) ?? null),
    kubernetesNamespace: (e.kubernetes_namespace as string | null | undefined) ?? null,
    externalUrl: (e.external_url as string | null | undefined) ?? null,
    fluxResourcePath: (e.flux_resource_path as string | null | undefined) || null,
    description: (e.description as string | null | undefined) ?? null,
  };
}

export async function findEnvironment(
  api: GitlabApi,
  project: string,
  name: string,
): Promise<EnvironmentInfo | undefined> {
  const one = await readEnvironment(api, project, name);
  return one && toEnv(one);
}

/** The environment as `GET /environments/:id` shows it (the list omits fields such as last_deployment). */
async function readEnvironment(
  api: GitlabApi,
  project: string,
  name: string,
  tokenVariable?: string,
): Promise<Raw | undefined> {
  const all = await call(ctx(project, `list environments of ${project}`, tokenVariable), () =>
    api.Environments.all(project, { name }),
  );
  const found = (all as unknown as Raw[]).find((e) => e.name === name);
  if (!found) return undefined;
  const one = await call(ctx(project, `read environment ${name}`, tokenVariable), () =>
    api.Environments.show(project, Number(found.id)),
  );
  return one as unknown as Raw;
}

/**
 * The commit the environment runs: its `last_deployment` (the successful deployment that finished last).
 * `undefined`: no such environment; `null`: no successful deployment yet.
 */
export async function deployedCommit(
  api: GitlabApi,
  project: string,
  name: string,
  tokenVariable?: string,
): Promise<string | null | undefined> {
  const env = await readEnvironment(api, project, name, tokenVariable);
  if (!env) return undefined;
  return ((env.last_deployment as Raw | null | undefined)?.sha as string | undefined) ?? null;
}

function differs(current: EnvironmentInfo, spec: EnvironmentSpec): boolean {
  return (
    current.tier !== spec.tier ||
    current.clusterAgentId !== spec.clusterAgentId ||
    current.kubernetesNamespace !== spec.kubernetesNamespace ||
    (spec.externalUrl !== undefined && current.externalUrl !== spec.externalUrl) ||
    (spec.fluxResourcePath !== undefined && (current.fluxResourcePath ?? null) !== spec.fluxResourcePath)
  );
}

/**
 * Creates the environment, or takes over and updates the one with this name (`created: false`: the caller
 * records it as adopted and never deletes it). Writes only on difference. A create whose answer was lost
 * is found by name in the same run, never sent twice.
 */
export async function ensureEnvironment(
  api: GitlabApi,
  project: string,
  spec: EnvironmentSpec,
): Promise<{ environment: EnvironmentInfo; changed: boolean; created: boolean }> {
  // gitbeaker's types lack these fields, but it decamelizes the body, so they reach GitLab as documented.
  const fields = {
    tier: spec.tier,
    clusterAgentId: spec.clusterAgentId,
    kubernetesNamespace: spec.kubernetesNamespace,
    ...(spec.externalUrl !== undefined ? { externalUrl: spec.externalUrl } : {}),
    // GitLab refuses flux_resource_path without kubernetes_namespace; "" clears it (nil is not sent).
    ...(spec.fluxResourcePath !== undefined ? { fluxResourcePath: spec.fluxResourcePath ?? "" } : {}),
  } as Record<string, unknown>;
  const current = await findEnvironment(api, project, spec.name);
  if (current && !differs(current, spec)) return { environment: current, changed: false, created: false };
  if (current) {
    const saved = await call(ctx(project, `update environment ${spec.name} in ${project}`), () =>
      api.Environments.edit(project, current.id, fields),
    );
    return { environment: toEnv(saved as unknown as Raw), changed: true, created: false };
  }
  const { value } = await createOnce(
    async () =>
      toEnv(
        (await call(ctx(project, `create environment ${spec.name} in ${project}`), () =>
          api.Environments.create(project, spec.name, {
            ...fields,
            ...(spec.description ? { description: spec.description } : {}),
          } as Record<string, unknown>),
        )) as unknown as Raw,
      ),
    async () => {
      const found = await findEnvironment(api, project, spec.name);
      if (!found || !differs(found, spec)) return found;
      return toEnv(
        (await call(ctx(project, `update environment ${spec.name} in ${project}`), () =>
          api.Environments.edit(project, found.id, fields),
        )) as unknown as Raw,
      );
    },
  );
  return { environment: value, changed: true, created: true };
}

/** Stops then deletes the environment (GitLab refuses to delete an available one); gone is fine. */
export async function deleteEnvironment(api: GitlabApi, project: string, id: number): Promise<void> {
  await callOrAbsent(ctx(project, `delete environment ${id} in ${project}`), async () => {
    await api.Environments.stop(project, id);
    await api.Environments.remove(project, id);
  });
}
