import { AccessLevel, FakeGroup, FakeProject, FakeRunner } from "./types";
import {
  apiError,
  grapeError,
  recordNotFound,
  forbidden,
  badRequest,
  toSentence,
  now,
  randomToken,
  has,
  requireParams,
  pStr,
  pInt,
  pBool,
  pValues,
  pList,
  normaliseTags,
  Ctx,
  ok,
  created,
  noContent,
} from "./http";
import type { Core } from "./core";

/** Runners (lib/api/user_runners.rb, lib/api/ci/runners.rb). */
export function registerRunners(core: Core): void {
  const {
    state,
    nextId,
    groupById,
    projectById,
    projectLevel,
    groupLevelFor,
    userProject,
    userGroup,
    level,
    authorize,
    canAdminRunner,
    route,
    runnerStatus,
    runnerEntity,
    runnerDetails,
    paginate,
  } = core;
  // --- runners (lib/api/user_runners.rb, lib/api/ci/runners.rb) -----------------------------
  const RUNNER_TYPES = ["instance_type", "group_type", "project_type"] as const;
  const validateRunner = (r: FakeRunner): string[] => {
    const errors: string[] = [];
    if (r.tagList.length === 0 && !r.runUntagged)
      errors.push("Tags list can not be empty when runner is not allowed to pick untagged jobs");
    if (r.tagList.length > 50)
      errors.push("Tags list Too many tags specified. Please limit the number of tags to 50");
    if (r.tagList.some((t) => t.length > 255))
      errors.push("Tag list is too long (maximum is 255 characters)");
    if (r.description.length > 1024) errors.push("Description is too long (maximum is 1024 characters)");
    if (r.maximumTimeout !== null && r.maximumTimeout < 600)
      errors.push("Maximum timeout needs to be at least 10 minutes");
    if (r.maintenanceNote && r.maintenanceNote.length > 1024)
      errors.push("Maintenance note is too long (maximum is 1024 characters)");
    return errors;
  };
  const runnerFilterParams = (ctx: Ctx) => ({
    type: pValues(ctx.params, "type", RUNNER_TYPES),
    paused: pBool(ctx.params, "paused"),
    status: pValues(ctx.params, "status", [
      "online",
      "offline",
      "stale",
      "never_contacted",
      "active",
      "paused",
    ] as const),
    tagList: pList(ctx.params, "tag_list"),
  });
  const applyRunnerFilters = (ctx: Ctx, runners: FakeRunner[]): FakeRunner[] => {
    const f = runnerFilterParams(ctx);
    let out = runners;
    if (f.type) out = out.filter((r) => r.runnerType === f.type);
    if (f.status)
      out = out.filter((r) =>
        f.status === "active" ? !r.paused : f.status === "paused" ? r.paused : runnerStatus(r) === f.status,
      );
    if (f.paused !== undefined) out = out.filter((r) => r.paused === f.paused);
    if (f.tagList) {
      const wanted = normaliseTags(f.tagList);
      out = out.filter((r) => wanted.every((t) => r.tagList.includes(t)));
    }
    // paginate() orders by id when the relation has no order
    return [...out].sort((a, b) => a.id - b.id);
  };
  const findRunner = (ctx: Ctx): FakeRunner => {
    const r = state.runners.find((x) => x.id === ctx.route.runner_id);
    if (!r) throw recordNotFound();
    return r;
  };

  route(
    "POST",
    "/user/runners",
    (ctx) => {
      requireParams(ctx.params, "runner_type");
      const runnerType = pValues(ctx.params, "runner_type", RUNNER_TYPES)!;
      if (runnerType === "group_type") requireParams(ctx.params, "group_id");
      if (runnerType === "project_type") requireParams(ctx.params, "project_id");
      const groupId = runnerType === "group_type" ? pInt(ctx.params, "group_id") : undefined;
      const projectId = runnerType === "project_type" ? pInt(ctx.params, "project_id") : undefined;
      const accessLevel = pValues(ctx.params, "access_level", ["not_protected", "ref_protected"] as const);
      const paused = pBool(ctx.params, "paused");
      const locked = pBool(ctx.params, "locked");
      const runUntagged = pBool(ctx.params, "run_untagged");
      const tagList = pList(ctx.params, "tag_list");
      const maximumTimeout = pInt(ctx.params, "maximum_timeout");
      const description = pStr(ctx.params, "description");
      const maintenanceNote = pStr(ctx.params, "maintenance_note");
      const user = ctx.auth!.user;
      // Ci::Runners::CreateRunnerService + RunnerCreationStrategies
      let project: FakeProject | undefined;
      let group: FakeGroup | undefined;
      if (runnerType === "project_type") {
        project = projectId == null ? undefined : projectById(projectId);
        if (!project) throw badRequest("Missing/invalid project");
        if (projectLevel(user, project) < AccessLevel.MAINTAINER) throw forbidden("Insufficient permissions");
      } else if (runnerType === "group_type") {
        group = groupId == null ? undefined : groupById(groupId);
        if (!group) throw badRequest("Missing/invalid group");
        if (groupLevelFor(user, group) < AccessLevel.OWNER) throw forbidden("Insufficient permissions");
      } else if (!user.isAdmin) {
        throw forbidden("Insufficient permissions");
      }
      const typeNumber = { instance_type: 1, group_type: 2, project_type: 3 }[runnerType];
      const r: FakeRunner = {
        id: 0,
        runnerType,
        name: null,
        description: description ?? "",
        tagList: normaliseTags(tagList ?? []),
        runUntagged: runUntagged ?? true,
        locked: locked ?? false,
        accessLevel: accessLevel ?? "not_protected",
        maximumTimeout: maximumTimeout ?? null,
        paused: paused ?? false,
        maintenanceNote: maintenanceNote ?? null,
        projectIds: project ? [project.id] : [],
        groupId: group ? group.id : null,
        creatorId: user.id,
        token: `glrt-t${typeNumber}_${randomToken(20)}`,
        tokenExpiresAt: null,
        contactedAt: null,
        createdAt: now(),
      };
      const errors = validateRunner(r);
      if (errors.length) throw badRequest(toSentence(errors));
      r.id = nextId("runner");
      state.runners.push(r);
      return created({ id: r.id, token: r.token, token_expires_at: r.tokenExpiresAt });
    },
    { scopes: ["create_runner"] },
  );
  route(
    "GET",
    "/runners",
    (ctx) => {
      // current_user.ci_owned_runners: group runners of owned groups, project runners of maintained projects
      const all = state.runners.filter(
        (r) => r.runnerType !== "instance_type" && canAdminRunner(ctx.auth!, r),
      );
      return ok(paginate(ctx, applyRunnerFilters(ctx, all)).map(runnerEntity));
    },
    // manage_runner only covers /runners/:id paths (allow_access_with_scope in lib/api/ci/runners.rb)
  );
  route("GET", "/runners/all", (ctx) => {
    if (!ctx.auth!.user.isAdmin) throw forbidden();
    return ok(paginate(ctx, applyRunnerFilters(ctx, state.runners)).map(runnerEntity));
  });
  route(
    "GET",
    "/runners/:runner_id",
    (ctx) => {
      const r = findRunner(ctx);
      if (r.runnerType !== "instance_type" && !canAdminRunner(ctx.auth!, r))
        throw forbidden("No access granted");
      return ok(runnerDetails(r, ctx.auth!));
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route(
    "PUT",
    "/runners/:runner_id",
    (ctx) => {
      const keys = [
        "description",
        "active",
        "paused",
        "tag_list",
        "run_untagged",
        "locked",
        "access_level",
        "maximum_timeout",
        "maintenance_note",
      ];
      if (!keys.some((k) => has(ctx.params, k)))
        throw grapeError(`${keys.join(", ")} are missing, at least one parameter must be provided`);
      if (has(ctx.params, "active") && has(ctx.params, "paused"))
        throw grapeError("active, paused are mutually exclusive");
      const accessLevel = pValues(ctx.params, "access_level", ["not_protected", "ref_protected"] as const);
      const active = pBool(ctx.params, "active");
      const paused = pBool(ctx.params, "paused");
      const runUntagged = pBool(ctx.params, "run_untagged");
      const locked = pBool(ctx.params, "locked");
      const tagList = pList(ctx.params, "tag_list");
      const maximumTimeout = pInt(ctx.params, "maximum_timeout");
      const r = findRunner(ctx);
      if (!canAdminRunner(ctx.auth!, r)) throw forbidden("No access granted");
      const next: FakeRunner = { ...r };
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? "";
      if (active !== undefined) next.paused = !active;
      if (paused !== undefined) next.paused = paused;
      if (tagList !== undefined) next.tagList = normaliseTags(tagList);
      if (runUntagged !== undefined) next.runUntagged = runUntagged;
      if (locked !== undefined) next.locked = locked;
      if (accessLevel) next.accessLevel = accessLevel;
      if (maximumTimeout !== undefined) next.maximumTimeout = maximumTimeout;
      if (has(ctx.params, "maintenance_note"))
        next.maintenanceNote = pStr(ctx.params, "maintenance_note") ?? null;
      const problems = validateRunner(next);
      if (problems.length) {
        // render_validation_error!(runner): {"message": {"attribute": ["message", ...]}}
        const byAttr: Record<string, string[]> = {};
        for (const m of problems) {
          const [attr, rest] = m.startsWith("Tags list ")
            ? ["tags_list", m.slice("Tags list ".length)]
            : m.startsWith("Maximum timeout ")
              ? ["maximum_timeout", m.slice("Maximum timeout ".length)]
              : m.startsWith("Maintenance note ")
                ? ["maintenance_note", m.slice("Maintenance note ".length)]
                : m.startsWith("Description ")
                  ? ["description", m.slice("Description ".length)]
                  : ["tag_list", m.slice("Tag list ".length)];
          (byAttr[attr] ??= []).push(rest);
        }
        throw apiError(400, byAttr);
      }
      Object.assign(r, next);
      return ok(runnerDetails(r, ctx.auth!));
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route(
    "DELETE",
    "/runners/:runner_id",
    (ctx) => {
      const r = findRunner(ctx);
      if (!ctx.auth!.user.isAdmin) {
        if (r.projectIds.length > 1) throw forbidden("Runner associated with more than one project");
        if (!canAdminRunner(ctx.auth!, r)) throw forbidden("No access granted");
      }
      state.runners = state.runners.filter((x) => x.id !== r.id);
      return noContent();
    },
    { scopes: ["manage_runner"], intParams: ["runner_id"] },
  );
  route("GET", "/projects/:id/runners", (ctx) => {
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.MAINTAINER); // :read_project_runners
    const groupIds = new Set<number>();
    for (let g = groupById(p.groupId); g; g = groupById(g.parentId)) groupIds.add(g.id);
    // Ci::Runner.owned_or_instance_wide
    const runners = state.runners.filter(
      (r) =>
        r.projectIds.includes(p.id) ||
        (r.runnerType === "group_type" && r.groupId !== null && groupIds.has(r.groupId)) ||
        r.runnerType === "instance_type",
    );
    return ok(paginate(ctx, applyRunnerFilters(ctx, runners)).map(runnerEntity));
  });
  route("GET", "/groups/:id/runners", (ctx) => {
    const g = userGroup(ctx);
    authorize(groupLevelFor(ctx.auth!.user, g) >= AccessLevel.MAINTAINER); // :read_group_runners
    const descendants = new Set<number>([g.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const x of state.groups)
        if (x.parentId !== null && descendants.has(x.parentId) && !descendants.has(x.id)) {
          descendants.add(x.id);
          grew = true;
        }
    }
    const ancestors = new Set<number>();
    for (let a = groupById(g.parentId); a; a = groupById(a.parentId)) ancestors.add(a.id);
    const projectIds = new Set(
      state.projects.filter((p) => p.groupId !== null && descendants.has(p.groupId)).map((p) => p.id),
    );
    // Default type filter for groups is "all available": own, ancestors' and descendants' runners, and instance runners.
    const runners = state.runners.filter(
      (r) =>
        r.runnerType === "instance_type" ||
        (r.runnerType === "group_type" &&
          r.groupId !== null &&
          (descendants.has(r.groupId) || ancestors.has(r.groupId))) ||
        (r.runnerType === "project_type" && r.projectIds.some((id) => projectIds.has(id))),
    );
    return ok(paginate(ctx, applyRunnerFilters(ctx, runners)).map(runnerEntity));
  });
}
