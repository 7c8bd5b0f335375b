import { AccessLevel, FakeBranch } from "./types";
import { apiError, notFound, badRequest, now, requireParams, pStr, ok, created, noContent } from "./http";
import type { Core } from "./core";

/** Branches (lib/api/branches.rb). */
export function registerBranches(core: Core): void {
  const {
    state,
    userProject,
    level,
    authorize,
    readsPublicly,
    resolveCommit,
    statusNote,
    route,
    branchEntity,
    paginate,
  } = core;
  // --- branches (lib/api/branches.rb) ---------------------------------------------------------
  route(
    "GET",
    "/projects/:id/repository/branches",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const search = pStr(ctx.params, "search");
      let list = Object.values(p.branches).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (search) list = list.filter((b) => b.name.includes(search));
      return ok(paginate(ctx, list).map((b) => branchEntity(p, b, ctx.auth!)));
    },
    { jobToken: true, getScopes: ["read_repository"] },
  );
  route(
    "GET",
    "/projects/:id/repository/branches/:branch",
    (ctx) => {
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER));
      const b = p.branches[String(ctx.route.branch)];
      if (!b) throw notFound("Branch");
      return ok(branchEntity(p, b, ctx.auth!));
    },
    { getScopes: ["read_repository"] },
  );
  route("POST", "/projects/:id/repository/branches", (ctx) => {
    requireParams(ctx.params, "branch", "ref");
    const name = pStr(ctx.params, "branch") ?? "";
    const ref = pStr(ctx.params, "ref") ?? "";
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :push_code
    if (p.branches[name]) throw badRequest("Branch already exists");
    if (!/^[^\s~^:?*[\\]+$/.test(name) || name.startsWith("/") || name.endsWith("/") || name.includes(".."))
      throw badRequest("Branch name is invalid");
    const from = resolveCommit(p, ref);
    if (from === undefined) throw badRequest(`Invalid reference name: ${ref}`);
    const b: FakeBranch = { name, commitId: from.commitId, protected: false };
    p.branches[name] = b;
    p.files[name] = { ...(p.files[from.branch] ?? {}) };
    return created(branchEntity(p, b, ctx.auth!));
  });
  route(
    "DELETE",
    "/projects/:id/repository/branches/:branch",
    (ctx) => {
      const p = userProject(ctx);
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // authorize_push_project
      const name = String(ctx.route.branch);
      const b = p.branches[name];
      if (!b) throw notFound("Branch");
      // Branches::DeleteService
      if (name === p.defaultBranch) throw apiError(405, "Cannot remove HEAD branch");
      if (b.protected) throw apiError(405, "Protected branch cant be removed");
      delete p.branches[name];
      delete p.files[name];
      // MergeRequests::RefreshService#close_upon_missing_source_branch_ref (asynchronous in GitLab,
      // right away here): open merge requests from the deleted branch are closed, by MergeRequests::
      // CloseService, so with its system note.
      for (const mr of state.mergeRequests)
        if (mr.projectId === p.id && mr.sourceBranch === name && mr.state === "opened") {
          mr.state = "closed";
          mr.closedAt = now();
          mr.updatedAt = mr.closedAt;
          statusNote("MergeRequest", mr, ctx.auth!.user.id, "closed");
        }
      return noContent();
    },
    {},
  );
}
