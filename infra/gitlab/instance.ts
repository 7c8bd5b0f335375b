/** Facts about the GitLab instance and the caller: metadata (KAS), token self-description, project access. */
import type { GitlabApi } from "./client";
import { call } from "./errors";

export interface InstanceMetadata {
  version: string;
  enterprise?: boolean;
  kas: { enabled: boolean; externalUrl: string | null; version: string | null };
}

export async function instanceMetadata(api: GitlabApi): Promise<InstanceMetadata> {
  const m = (await call(
    {
      action: "read the instance metadata (GET /metadata)",
      scope: "read_api or api",
    },
    () => api.Metadata.show(),
  )) as unknown as Record<string, unknown>;
  const kas = (m.kas ?? {}) as Record<string, unknown>;
  return {
    version: String(m.version ?? ""),
    enterprise: m.enterprise as boolean | undefined,
    kas: {
      enabled: kas.enabled === true,
      externalUrl: (kas.externalUrl ?? kas.external_url ?? null) as string | null,
      version: (kas.version ?? null) as string | null,
    },
  };
}

export interface TokenSelf {
  name: string;
  scopes: string[];
  active: boolean;
  expiresAt: string | null;
}

/**
 * What the calling token is (GET /personal_access_tokens/self; project and group tokens answer too). Any
 * scope may read it; `needs` is the scope the caller will need, named when GitLab rejects the token.
 */
export async function tokenSelf(api: GitlabApi, needs?: string): Promise<TokenSelf> {
  const t = (await call(
    {
      action: "read the token's own description (GET /personal_access_tokens/self)",
      ...(needs ? { scope: needs } : {}),
    },
    () => api.PersonalAccessTokens.show(),
  )) as unknown as Record<string, unknown>;
  return {
    name: String(t.name ?? ""),
    scopes: (t.scopes as string[] | undefined) ?? [],
    active: t.active !== false,
    expiresAt: (t.expires_at as string | null | undefined) ?? null,
  };
}

export const ACCESS_LEVEL_NAMES: Record<number, string> = {
  0: "no access",
  5: "Minimal access",
  10: "Guest",
  15: "Planner",
  20: "Reporter",
  30: "Developer",
  40: "Maintainer",
  50: "Owner",
};

/** Numeric id and the caller's access level on a project (the higher of project and group membership). */
export async function projectAccess(
  api: GitlabApi,
  project: string,
): Promise<{ id: number; accessLevel: number }> {
  const p = (await call(
    {
      action: `read project ${project}`,
      scope: "read_api or api",
      role: `a member of ${project}`,
      target: `project ${project}`,
    },
    () => api.Projects.show(project),
  )) as unknown as Record<string, unknown>;
  const perms = (p.permissions ?? {}) as Record<string, { access_level?: number } | null>;
  const level = Math.max(perms.project_access?.access_level ?? 0, perms.group_access?.access_level ?? 0);
  return { id: Number(p.id), accessLevel: level };
}

/** Numeric id of a project or group path, for Kubernetes impersonation groups (gitlab:project:<id>). */
export async function namespaceId(api: GitlabApi, kind: "project" | "group", path: string): Promise<number> {
  const ctx = {
    action: `look up ${kind} ${path}`,
    scope: "read_api or api",
    role: `able to see ${path}`,
    target: `${kind} ${path}`,
  };
  const r = await call<{ id: number }>(ctx, async () =>
    kind === "project"
      ? ((await api.Projects.show(path)) as { id: number })
      : ((await api.Groups.show(path)) as { id: number }),
  );
  return Number(r.id);
}
