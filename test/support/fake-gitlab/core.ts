import * as crypto from "node:crypto";
import {
  AccessLevel,
  FakeAgent,
  FakeUser,
  FakeGroup,
  FakeBranch,
  FakeProject,
  EnvironmentTier,
  FakeRunner,
  FakeCommit,
  FakeInstance,
  FakeGitlabState,
} from "./types";
import {
  Params,
  notFound,
  forbidden,
  now,
  sha1Hex,
  recordNotFound,
  pValues,
  pList,
  normaliseTags,
  AuthInfo,
  Ctx,
  Reply,
  Route,
} from "./http";
import { createEntities } from "./entities";
import { createPagination } from "./pagination";
import type { FakeGitlabOptions } from "./api";

/** The fake's state, id counters, lookups, permission checks and route table, shared by every resource. */
const DEFAULT_INSTANCE: FakeInstance = {
  version: "17.6.0-ee",
  revision: "a1b2c3d4e5f",
  enterprise: true,
  kas: {
    enabled: true,
    externalUrl: "wss://kas.gitlab.example.com",
    externalK8sProxyUrl: "https://kas.gitlab.example.com/k8s-proxy",
    version: "17.6.0",
  },
  receptiveAgentsEnabled: false,
};

function createBase(options: FakeGitlabOptions) {
  const state: FakeGitlabState = {
    instance: {
      ...DEFAULT_INSTANCE,
      ...options.instance,
      kas: { ...DEFAULT_INSTANCE.kas, ...options.instance?.kas },
    },
    users: [],
    tokens: [],
    jobTokens: [],
    groups: [],
    projects: [],
    agents: [],
    agentTokens: [],
    deployTokens: [],
    deployments: [],
    urlConfigurations: [],
    environments: [],
    runners: [],
    mergeRequests: [],
    issues: [],
    notes: [],
    commits: [],
  };
  const counters = new Map<string, number>();
  const nextId = (kind: string): number => {
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    return n;
  };
  const nextIid = (kind: string, projectId: number): number => nextId(`${kind}:${projectId}`);
  let baseUrl = "";
  // ------------------------------------------------------------------------------------------
  // Lookups and permissions
  // ------------------------------------------------------------------------------------------

  const userById = (id: number | null | undefined): FakeUser | undefined =>
    id == null ? undefined : state.users.find((u) => u.id === id);
  const groupById = (id: number | null | undefined): FakeGroup | undefined =>
    id == null ? undefined : state.groups.find((g) => g.id === id);
  const projectById = (id: number): FakeProject | undefined => state.projects.find((p) => p.id === id);

  const groupFullPath = (g: FakeGroup): string => {
    const parent = groupById(g.parentId);
    return parent ? `${groupFullPath(parent)}/${g.path}` : g.path;
  };
  const groupFullName = (g: FakeGroup): string => {
    const parent = groupById(g.parentId);
    return parent ? `${groupFullName(parent)} / ${g.name}` : g.name;
  };
  const namespaceOf = (p: FakeProject) => {
    const g = groupById(p.groupId);
    if (g) {
      return {
        id: g.id,
        name: g.name,
        path: g.path,
        kind: "group",
        full_path: groupFullPath(g),
        fullName: groupFullName(g),
        parent_id: g.parentId,
        web_url: `${baseUrl}/groups/${groupFullPath(g)}`,
      };
    }
    const u = userById(p.ownerUserId);
    const username = u?.username ?? "unknown";
    return {
      id: 1000 + (u?.id ?? 0),
      name: u?.name ?? username,
      path: username,
      kind: "user",
      full_path: username,
      fullName: u?.name ?? username,
      parent_id: null,
      web_url: `${baseUrl}/${username}`,
    };
  };
  const projectFullPath = (p: FakeProject): string => `${namespaceOf(p).full_path}/${p.path}`;
  const projectFullName = (p: FakeProject): string => `${namespaceOf(p).fullName} / ${p.name}`;

  const groupLevel = (user: FakeUser, g: FakeGroup | undefined): number => {
    let level = 0;
    for (let cur = g; cur; cur = groupById(cur.parentId)) level = Math.max(level, cur.members[user.id] ?? 0);
    return level;
  };
  const projectLevel = (user: FakeUser, p: FakeProject): number => {
    if (user.isAdmin) return AccessLevel.OWNER;
    let level = p.members[user.id] ?? 0;
    if (p.ownerUserId === user.id) level = AccessLevel.OWNER;
    return Math.max(level, groupLevel(user, groupById(p.groupId)));
  };
  const groupLevelFor = (user: FakeUser, g: FakeGroup): number =>
    user.isAdmin ? AccessLevel.OWNER : groupLevel(user, g);

  const jobMayAccess = (auth: AuthInfo, p: FakeProject): boolean =>
    auth.kind !== "job" || auth.job!.projectId === p.id || p.jobTokenAllowlist.includes(auth.job!.projectId);

  const canReadProject = (auth: AuthInfo, p: FakeProject): boolean => {
    if (!jobMayAccess(auth, p)) return false;
    if (auth.user.isAdmin) return true;
    return projectLevel(auth.user, p) >= AccessLevel.GUEST || p.visibility !== "private";
  };
  const canReadGroup = (auth: AuthInfo, g: FakeGroup): boolean =>
    auth.user.isAdmin || groupLevel(auth.user, g) >= AccessLevel.GUEST || g.visibility !== "private";

  const findProject = (id: string): FakeProject | undefined => {
    if (/^\d+$/.test(id)) return projectById(Number(id));
    const lower = id.toLowerCase();
    return state.projects.find((p) => projectFullPath(p).toLowerCase() === lower);
  };
  const findGroup = (id: string): FakeGroup | undefined => {
    if (/^\d+$/.test(id)) return groupById(Number(id));
    const lower = id.toLowerCase();
    return state.groups.find((g) => groupFullPath(g).toLowerCase() === lower);
  };

  /** find_project!: 404 Project Not Found unless readable. */
  const userProject = (ctx: Ctx): FakeProject => {
    const p = findProject(String(ctx.route.id));
    if (!p || !canReadProject(ctx.auth!, p)) throw notFound("Project");
    return p;
  };
  const userGroup = (ctx: Ctx): FakeGroup => {
    const g = findGroup(String(ctx.route.id));
    if (!g || !canReadGroup(ctx.auth!, g)) throw notFound("Group");
    return g;
  };
  const level = (ctx: Ctx, p: FakeProject): number => projectLevel(ctx.auth!.user, p);
  const authorize = (ok: boolean): void => {
    if (!ok) throw forbidden();
  };
  const readsPublicly = (ctx: Ctx, p: FakeProject, privateMin: number): boolean =>
    level(ctx, p) >= privateMin || (p.visibility !== "private" && canReadProject(ctx.auth!, p));

  const findAgent = (ctx: Ctx, p: FakeProject): FakeAgent => {
    // Clusters::AgentsFinder#find: nothing readable below Developer, then RecordNotFound.
    const a = state.agents.find((x) => x.id === ctx.route.agent_id && x.projectId === p.id);
    if (!a || level(ctx, p) < AccessLevel.DEVELOPER) throw recordNotFound();
    return a;
  };

  // --- shared by several resources -----------------------------------------------------
  const TIERS = ["production", "staging", "testing", "development", "other"] as const;
  const envSlug = (name: string): string => {
    // Gitlab::Slug::Environment#generate
    let slug = name.toLowerCase().replace(/[^a-z0-9]/g, "-");
    if (!/^[a-z]/.test(slug)) slug = `env-${slug}`;
    slug = slug.replace(/-+/g, "-");
    if (slug.length > 24 || slug !== name) {
      slug = slug.slice(0, 17);
      if (!slug.endsWith("-")) slug += "-";
      slug += crypto.randomBytes(6).toString("hex").slice(0, 6);
      return slug;
    }
    return slug.replace(/-$/, "");
  };
  /** Environment#guess_tier (app/models/environment.rb), in GitLab's order. */
  const guessTier = (name: string): EnvironmentTier => {
    if (/(dev|review|trunk)/i.test(name)) return "development";
    if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return "testing";
    if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return "staging";
    if (/(pr(o|)d|live)/i.test(name)) return "production";
    return "other";
  };
  const branchOf = (p: FakeProject, name: string): FakeBranch | undefined => p.branches[name];
  /** The branch whose files a ref reads (the fake keeps files per branch, not per commit). */
  const resolveRef = (p: FakeProject, ref: string): string | undefined => resolveCommit(p, ref)?.branch;
  /** A branch name or a (short) commit SHA the project has: its commit and the branch it was made on. */
  const resolveCommit = (p: FakeProject, ref: string): { commitId: string; branch: string } | undefined => {
    if (p.branches[ref]) return { commitId: p.branches[ref].commitId, branch: ref };
    const c = state.commits.find(
      (x) => x.projectId === p.id && (x.id === ref || (ref.length >= 7 && x.id.startsWith(ref))),
    );
    if (c) return { commitId: c.id, branch: p.branches[c.branch] ? c.branch : p.defaultBranch };
    // A branch head seeded without a commit record (addProject, addBranch).
    const head = Object.values(p.branches).find((b) => ref.length >= 7 && b.commitId.startsWith(ref));
    return head ? { commitId: head.commitId, branch: head.name } : undefined;
  };
  /** A commit that reached `branch` by a git push (not through the API): recorded, the branch moved to it. */
  const pushed = (p: FakeProject, branch: string, message: string, parentIds: string[], id = sha1Hex()) => {
    const c: FakeCommit = {
      id,
      projectId: p.id,
      branch,
      message,
      parentIds,
      authorName: "test",
      authorEmail: "test@example.invalid",
      actions: [],
      createdAt: now(),
    };
    state.commits.push(c);
    p.branches[branch].commitId = c.id;
    refreshMergeRequests(p, branch);
    return c;
  };
  /** MergeRequests::RefreshService: open MRs follow their source branch's head. */
  const refreshMergeRequests = (p: FakeProject, branch: string) => {
    for (const mr of state.mergeRequests)
      if (mr.projectId === p.id && mr.sourceBranch === branch && mr.state === "opened") {
        mr.sha = p.branches[branch].commitId;
        mr.updatedAt = now();
      }
  };
  const canAdminRunner = (auth: AuthInfo, r: FakeRunner): boolean => {
    if (auth.user.isAdmin) return true;
    if (r.runnerType === "group_type") {
      const g = groupById(r.groupId);
      return !!g && groupLevelFor(auth.user, g) >= AccessLevel.OWNER;
    }
    if (r.runnerType === "project_type")
      return r.projectIds.some((id) => {
        const p = projectById(id);
        return !!p && projectLevel(auth.user, p) >= AccessLevel.MAINTAINER;
      });
    return false;
  };
  /**
   * The system note GitLab adds when an issue or merge request is closed or reopened (Issues::CloseService,
   * MergeRequests::CloseService, ...ReopenService -> SystemNoteService.change_status: body "closed" or
   * "reopened", authored by the user, `system: true`). Listed by the notes API with the comments.
   */
  const statusNote = (
    kind: "MergeRequest" | "Issue",
    target: { id: number; iid: number; projectId: number },
    authorId: number,
    status: "closed" | "reopened",
  ): void => {
    const ts = now();
    state.notes.push({
      id: nextId("note"),
      projectId: target.projectId,
      noteableType: kind,
      noteableId: target.id,
      noteableIid: target.iid,
      body: status,
      authorId,
      system: true,
      internal: false,
      createdAt: ts,
      updatedAt: ts,
    });
  };
  const canReadMrs = (ctx: Ctx, p: FakeProject) => readsPublicly(ctx, p, AccessLevel.REPORTER);
  const labelsParam = (p: Params, key: string): string[] | undefined => {
    const l = pList(p, key);
    return l === undefined ? undefined : normaliseTags(l);
  };
  const filterByLabels = <T extends { labels: string[] }>(items: T[], labels: string[] | undefined): T[] => {
    if (!labels || labels.length === 0) return items;
    if (labels.length === 1 && labels[0].toLowerCase() === "none")
      return items.filter((i) => i.labels.length === 0);
    if (labels.length === 1 && labels[0].toLowerCase() === "any")
      return items.filter((i) => i.labels.length > 0);
    return items.filter((i) => labels.every((l) => i.labels.includes(l)));
  };
  const sortIssuables = <T extends { createdAt: string; updatedAt: string; title: string; id: number }>(
    ctx: Ctx,
    items: T[],
  ): T[] => {
    const orderBy =
      pValues(ctx.params, "order_by", ["created_at", "updated_at", "title"] as const) ?? "created_at";
    const sort = pValues(ctx.params, "sort", ["asc", "desc"] as const) ?? "desc";
    const key = (i: T): string =>
      orderBy === "title" ? i.title : orderBy === "updated_at" ? i.updatedAt : i.createdAt;
    const dir = sort === "asc" ? 1 : -1;
    return [...items].sort((a, b) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : dir * (a.id - b.id)));
  };
  const applyLabelEdits = (current: string[], p: Params): string[] => {
    let labels = labelsParam(p, "labels") ?? current;
    const add = labelsParam(p, "add_labels");
    const remove = labelsParam(p, "remove_labels");
    if (add) labels = normaliseTags([...labels, ...add]);
    if (remove) labels = labels.filter((l) => !remove.includes(l));
    return labels;
  };
  const canReadIssues = (ctx: Ctx, p: FakeProject) => readsPublicly(ctx, p, AccessLevel.GUEST);

  // ------------------------------------------------------------------------------------------
  // Routes
  // ------------------------------------------------------------------------------------------

  const routes: Route[] = [];
  const route = (
    method: string,
    pattern: string,
    handler: (ctx: Ctx) => Reply,
    opts: Omit<Route, "method" | "pattern" | "segments" | "handler"> = {},
  ): void => {
    routes.push({ method, pattern, segments: pattern.split("/").filter(Boolean), handler, ...opts });
  };

  return {
    state,
    findAgent,
    counters,
    nextId,
    nextIid,
    userById,
    groupById,
    projectById,
    groupFullPath,
    groupFullName,
    namespaceOf,
    projectFullPath,
    projectFullName,
    groupLevel,
    projectLevel,
    groupLevelFor,
    jobMayAccess,
    canReadProject,
    canReadGroup,
    findProject,
    findGroup,
    userProject,
    userGroup,
    level,
    authorize,
    readsPublicly,
    TIERS,
    envSlug,
    guessTier,
    branchOf,
    resolveRef,
    resolveCommit,
    pushed,
    refreshMergeRequests,
    canAdminRunner,
    statusNote,
    canReadMrs,
    labelsParam,
    filterByLabels,
    sortIssuables,
    applyLabelEdits,
    canReadIssues,
    routes,
    route,
    baseUrl: () => baseUrl,
    setBaseUrl: (url: string) => {
      baseUrl = url;
    },
  };
}

export type Base = ReturnType<typeof createBase>;

export function createCore(options: FakeGitlabOptions = {}) {
  const base = createBase(options);
  return { ...base, ...createEntities(base), ...createPagination(base.baseUrl) };
}

export type Core = ReturnType<typeof createCore>;
