/**
 * GitLab runners through the API (GitLab 16+ workflow): `POST /user/runners` creates a runner and returns
 * its `glrt-` token once; `PUT /runners/:id` changes its settings; `DELETE /runners/:id` removes it.
 * Creating needs a token with the `create_runner` scope (or `api`) whose user is Owner of the group,
 * Maintainer/Owner of the project, or an administrator for instance runners; changing and deleting need
 * `manage_runner` (or `api`).
 */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, GitlabApiError } from "./errors";

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
  o: RunnerCallOptions = {},
): Promise<CreatedRunner> {
  const ids: { projectId?: number; groupId?: number } = {};
  if (target.runnerType === "project_type")
    ids.projectId = await resolveId(api, "project", target.project ?? "", target, o);
  if (target.runnerType === "group_type")
    ids.groupId = await resolveId(api, "group", target.group ?? "", target, o);
  const created = await call(
    {
      action: `create a ${target.runnerType} runner for ${targetText(target)}`,
      scope: "create_runner",
      role: creatorRole(target),
      target: targetText(target),
      tokenVariable: o.tokenVariable,
    },
    () => api.Users.createCIRunner(target.runnerType, { ...ids, ...settingsBody(s) }),
  );
  const body = created as unknown as { id: number; token: string; token_expires_at?: string | null };
  if (typeof body.id !== "number" || typeof body.token !== "string" || !body.token)
    throw new GitlabApiError(
      `GitLab created a runner for ${targetText(target)} but its answer had no id or token; delete it in GitLab and retry`,
    );
  return { id: body.id, token: body.token, tokenExpiresAt: body.token_expires_at ?? null };
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
  o: RunnerCallOptions = {},
): Promise<void> {
  await call(
    {
      action: `update runner ${id}`,
      scope: "manage_runner",
      role: "Owner of the runner's group, Maintainer of its project, or an administrator",
      target: `runner ${id}`,
      tokenVariable: o.tokenVariable,
    },
    () => api.Runners.edit(id, settingsBody(s)),
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
