/**
 * GitLab runners through the API (GitLab 16+ workflow): `POST /user/runners` creates a runner and returns
 * its `glrt-` token once; `PUT /runners/:id` changes its settings; `DELETE /runners/:id` removes it.
 * Creating needs a token with the `create_runner` scope (or `api`) whose user is Owner of the group,
 * Maintainer/Owner of the project, or an administrator for instance runners; changing and deleting need
 * `manage_runner` (or `api`).
 *
 * Ownership: a runner's description ends with this stack's marker (`[gitlab-eks:PROJECT/STACK] #GEN`, GEN
 * a hash of what makes it this runner: GitLab URL, type, project or group, whether it has a maximum
 * timeout), so a runner whose create answer was lost can be found again: GitLab shows its token only in
 * that answer, so such a runner is useless, and it is deleted before a new one is created. Destroy deletes
 * every runner carrying the marker. Runners without this stack's identity are never touched.
 */
import { createHash } from "node:crypto";
import type { GitlabApi } from "./client";
import { call, callOrAbsent, GitlabApiError, isOutcomeUnknown } from "./errors";
import { Owner, ownerTag } from "./ownership";

export type RunnerType = "project_type" | "group_type" | "instance_type";

/** A runner's settings, as GitLab's runner API takes them. */
export interface RunnerSettings {
  description: string;
  tags: string[];
  runUntagged: boolean;
  locked: boolean;
  accessLevel: "not_protected" | "ref_protected";
  /** Seconds; undefined leaves it unset. */
  maximumTimeout?: number;
  paused: boolean;
}

export interface RunnerTarget {
  runnerType: RunnerType;
  /** Project path or id (project_type). */
  project?: string;
  /** Group path or id (group_type). */
  group?: string;
}

export interface CreatedRunner {
  id: number;
  /** The runner authentication token (glrt-...). GitLab shows it only in this response. */
  token: string;
  tokenExpiresAt: string | null;
}

/** Options that say which env var holds the token, for error messages. */
export interface RunnerCallOptions {
  tokenVariable?: string;
}

/** What identifies this stack's runner in GitLab: the stack and the runner's generation. */
export interface RunnerIdentity {
  owner: Owner;
  /** GitLab URL of the runner (another GitLab: another runner). */
  url: string;
  target: RunnerTarget;
  hasMaximumTimeout: boolean;
}

/**
 * The marker at the end of the runner's description. A replacement always gets another one: Pulumi
 * replaces the runner only when the URL, type, project or group change, or its maximum timeout is
 * cleared, and each of those is in the hash; so the replaced runner and its successor never mistake each
 * other for an orphan.
 */
export function runnerMarker(id: RunnerIdentity): string {
  const gen = createHash("sha256")
    .update(
      JSON.stringify([
        id.url,
        id.target.runnerType,
        id.target.project ?? null,
        id.target.group ?? null,
        id.hasMaximumTimeout,
      ]),
    )
    .digest("hex")
    .slice(0, 8);
  return `${ownerTag(id.owner)} #${gen}`;
}

function markedDescription(description: string, marker: string | undefined): string {
  return marker ? `${description} ${marker}` : description;
}

function targetText(t: RunnerTarget): string {
  if (t.runnerType === "project_type") return `project ${t.project}`;
  if (t.runnerType === "group_type") return `group ${t.group}`;
  return "the whole instance";
}

function creatorRole(t: RunnerTarget): string {
  if (t.runnerType === "project_type") return `Maintainer or Owner of project ${t.project}`;
  if (t.runnerType === "group_type") return `Owner of group ${t.group}`;
  return "a GitLab administrator (only administrators can create instance_type runners)";
}

/** Numeric id of a project or group given by path or id. */
async function resolveId(
  api: GitlabApi,
  kind: "project" | "group",
  ref: string,
  t: RunnerTarget,
  o: RunnerCallOptions,
): Promise<number> {
  if (/^\d+$/.test(ref)) return Number(ref);
  const found = await call(
    {
      action:
        `look up ${kind} ${ref} for the runner (or give its numeric id in gitlab-eks:runner.${kind}, ` +
        `which needs no lookup)`,
      scope: "read_api",
      role: creatorRole(t),
      target: `${kind} ${ref}`,
      tokenVariable: o.tokenVariable,
    },
    async (): Promise<{ id: number }> =>
      kind === "project" ? await api.Projects.show(ref) : await api.Groups.show(ref),
  );
  return found.id;
}

export async function createRunner(
  api: GitlabApi,
  target: RunnerTarget,
  s: RunnerSettings,
  o: RunnerCallOptions & { marker?: string } = {},
): Promise<CreatedRunner & { deleted: number[] }> {
  const ids: { projectId?: number; groupId?: number } = {};
  if (target.runnerType === "project_type")
    ids.projectId = await resolveId(api, "project", target.project ?? "", target, o);
  if (target.runnerType === "group_type")
    ids.groupId = await resolveId(api, "group", target.group ?? "", target, o);
  // Runners of this stack and generation no state holds (a create whose answer was lost): their token is
  // gone for good, so they are deleted rather than left registered.
  const deleted: number[] = [];
  /** False when the token may not list runners (a create_runner-only token). */
  const sweep = async (): Promise<boolean> => {
    if (!o.marker) return false;
    const found = await markedRunners(api, target, ids, o.marker, o).catch((e: GitlabApiError) => {
      if (e.status === 403) return undefined;
      throw e;
    });
    for (const r of found ?? []) {
      await deleteRunner(api, r, o);
      deleted.push(r);
    }
    return found !== undefined;
  };
  await sweep();
  const post = () =>
    call(
      {
        action: `create a ${target.runnerType} runner for ${targetText(target)}`,
        scope: "create_runner",
        role: creatorRole(target),
        target: targetText(target),
        tokenVariable: o.tokenVariable,
      },
      () =>
        api.Users.createCIRunner(target.runnerType, {
          ...ids,
          ...settingsBody({ ...s, description: markedDescription(s.description, o.marker) }),
        }),
    );
  let created: Awaited<ReturnType<typeof post>>;
  try {
    created = await post();
  } catch (e) {
    if (!isOutcomeUnknown(e)) throw e;
    // Not resent blindly: the runner GitLab may have created is found by its marker and deleted first.
    if (!(await sweep()))
      throw new GitlabApiError(
        `${(e as Error).message} The runner it may have created cannot be looked for: the token cannot list ` +
          `the runners of ${targetText(target)} (it needs the manage_runner or api scope). Delete a runner ` +
          `described "${markedDescription(s.description, o.marker)}" in GitLab if there is one, then run again.`,
      );
    created = await post();
  }
  const body = created as unknown as { id: number; token: string; token_expires_at?: string | null };
  if (typeof body.id !== "number" || typeof body.token !== "string" || !body.token)
    throw new GitlabApiError(
      `GitLab created a runner for ${targetText(target)} but its answer had no id or token; delete it in GitLab and retry`,
    );
  return { id: body.id, token: body.token, tokenExpiresAt: body.token_expires_at ?? null, deleted };
}

/** Ids of the runners of `target`'s scope whose description carries `marker`. */
export async function markedRunners(
  api: GitlabApi,
  target: RunnerTarget,
  ids: { projectId?: number; groupId?: number },
  marker: string,
  o: RunnerCallOptions = {},
): Promise<number[]> {
  const all = await call(
    {
      action: `list the runners of ${targetText(target)} to find this stack's`,
      scope: "manage_runner",
      role: creatorRole(target),
      target: targetText(target),
      tokenVariable: o.tokenVariable,
    },
    () => {
      const filter = { type: target.runnerType, perPage: 100 };
      if (ids.projectId) return api.Runners.all({ projectId: ids.projectId, ...filter });
      if (ids.groupId) return api.Runners.all({ groupId: ids.groupId, ...filter });
      return api.Runners.all(filter); // GET /runners/all: administrators only, as for creating one
    },
  );
  return (all as unknown as { id: number; description?: string | null }[])
    .filter((r) => typeof r.description === "string" && r.description.endsWith(` ${marker}`))
    .map((r) => r.id);
}

/**
 * Deletes runner `id` and every other runner of `target` carrying `marker` (orphans of lost creates):
 * what destroy does. Runners already gone count as deleted.
 */
export async function deleteStackRunners(
  api: GitlabApi,
  id: number,
  target: RunnerTarget,
  marker: string | undefined,
  o: RunnerCallOptions = {},
): Promise<number[]> {
  await deleteRunner(api, id, o);
  if (!marker) return [id];
  const ids: { projectId?: number; groupId?: number } = {};
  if (target.runnerType === "project_type")
    ids.projectId = await resolveId(api, "project", target.project ?? "", target, o);
  if (target.runnerType === "group_type")
    ids.groupId = await resolveId(api, "group", target.group ?? "", target, o);
  const others = await markedRunners(api, target, ids, marker, o);
  for (const r of others) await deleteRunner(api, r, o);
  return [id, ...others];
}

/** The settings GitLab takes both when creating and when editing a runner. */
function settingsBody(s: RunnerSettings) {
  return {
    description: s.description,
    tagList: s.tags,
    runUntagged: s.runUntagged,
    locked: s.locked,
    accessLevel: s.accessLevel,
    paused: s.paused,
    ...(s.maximumTimeout !== undefined ? { maximumTimeout: s.maximumTimeout } : {}),
  };
}

export async function updateRunner(
  api: GitlabApi,
  id: number,
  s: RunnerSettings,
  o: RunnerCallOptions & { marker?: string } = {},
): Promise<void> {
  await call(
    {
      action: `update runner ${id}`,
      scope: "manage_runner",
      role: "Owner of the runner's group, Maintainer of its project, or an administrator",
      target: `runner ${id}`,
      tokenVariable: o.tokenVariable,
    },
    () =>
      api.Runners.edit(id, settingsBody({ ...s, description: markedDescription(s.description, o.marker) })),
  );
}

/** Whether GitLab still has the runner (false on 404). */
export async function runnerExists(api: GitlabApi, id: number, o: RunnerCallOptions = {}): Promise<boolean> {
  const runner = await callOrAbsent(
    {
      action: `read runner ${id}`,
      scope: "manage_runner",
      role: "Owner of the runner's group, Maintainer of its project, or an administrator",
      target: `runner ${id}`,
      tokenVariable: o.tokenVariable,
    },
    () => api.Runners.show(id),
  );
  return runner !== undefined;
}

/** Deletes the runner; a runner already gone (404) counts as deleted. */
export async function deleteRunner(api: GitlabApi, id: number, o: RunnerCallOptions = {}): Promise<void> {
  await callOrAbsent(
    {
      action: `delete runner ${id}`,
      scope: "manage_runner",
      role: "Owner of the runner's group, Maintainer of its project, or an administrator",
      target: `runner ${id}`,
      tokenVariable: o.tokenVariable,
    },
    () => api.Runners.remove({ runnerId: id }),
  );
}
