import { AccessLevel, FakeProject, FakeMergeRequest } from "./types";
import {
  apiError,
  grapeError,
  recordNotFound,
  forbidden,
  now,
  has,
  requireParams,
  pStr,
  pInt,
  pBool,
  pValues,
  pIntList,
  Ctx,
  ok,
  created,
} from "./http";
import type { Core } from "./core";

/** Merge requests (lib/api/merge_requests.rb). */
export function registerMergeRequests(core: Core): void {
  const {
    state,
    nextId,
    nextIid,
    userProject,
    level,
    authorize,
    statusNote,
    canReadMrs,
    labelsParam,
    filterByLabels,
    sortIssuables,
    applyLabelEdits,
    route,
    mrEntity,
    paginate,
  } = core;

  // --- merge requests (lib/api/merge_requests.rb) ----------------------------------------------
  const findMr = (ctx: Ctx, p: FakeProject): FakeMergeRequest => {
    const mr = state.mergeRequests.find((m) => m.projectId === p.id && m.iid === ctx.route.merge_request_iid);
    if (!mr || !canReadMrs(ctx, p)) throw recordNotFound();
    return mr;
  };
  const openConflict = (
    mr: Pick<FakeMergeRequest, "projectId" | "sourceBranch" | "targetBranch">,
    selfId?: number,
  ) =>
    state.mergeRequests.find(
      (m) =>
        m.projectId === mr.projectId &&
        m.sourceBranch === mr.sourceBranch &&
        m.targetBranch === mr.targetBranch &&
        m.state === "opened" &&
        m.id !== selfId,
    );

  route(
    "GET",
    "/projects/:id/merge_requests",
    (ctx) => {
      const st =
        pValues(ctx.params, "state", ["opened", "closed", "locked", "merged", "all"] as const) ?? "all";
      const sourceBranch = pStr(ctx.params, "source_branch");
      const targetBranch = pStr(ctx.params, "target_branch");
      const labels = labelsParam(ctx.params, "labels");
      const iids = pIntList(ctx.params, "iids");
      const search = pStr(ctx.params, "search");
      const authorId = pInt(ctx.params, "author_id");
      const p = userProject(ctx);
      authorize(canReadMrs(ctx, p));
      let mrs = state.mergeRequests.filter((m) => m.projectId === p.id);
      if (st !== "all") mrs = mrs.filter((m) => m.state === st);
      if (sourceBranch) mrs = mrs.filter((m) => m.sourceBranch === sourceBranch);
      if (targetBranch) mrs = mrs.filter((m) => m.targetBranch === targetBranch);
      if (iids && iids.length) mrs = mrs.filter((m) => iids.includes(m.iid));
      if (authorId != null) mrs = mrs.filter((m) => m.authorId === authorId);
      if (search) {
        const s = search.toLowerCase();
        mrs = mrs.filter(
          (m) => m.title.toLowerCase().includes(s) || (m.description ?? "").toLowerCase().includes(s),
        );
      }
      mrs = filterByLabels(mrs, labels);
      return ok(paginate(ctx, sortIssuables(ctx, mrs)).map(mrEntity));
    },
    { jobToken: true },
  );
  route(
    "GET",
    "/projects/:id/merge_requests/:merge_request_iid",
    (ctx) => ok(mrEntity(findMr(ctx, userProject(ctx)))),
    { jobToken: true, intParams: ["merge_request_iid"] },
  );
  route("POST", "/projects/:id/merge_requests", (ctx) => {
    requireParams(ctx.params, "source_branch", "target_branch", "title");
    const sourceBranch = pStr(ctx.params, "source_branch") ?? "";
    const targetBranch = pStr(ctx.params, "target_branch") ?? "";
    const title = pStr(ctx.params, "title") ?? "";
    const labels = labelsParam(ctx.params, "labels") ?? [];
    const assigneeIds = pIntList(ctx.params, "assignee_ids") ?? [];
    const assigneeId = pInt(ctx.params, "assignee_id");
    const reviewerIds = pIntList(ctx.params, "reviewer_ids") ?? [];
    const squash = pBool(ctx.params, "squash") ?? false;
    const removeSourceBranch = pBool(ctx.params, "remove_source_branch") ?? false;
    const targetProjectId = pInt(ctx.params, "target_project_id");
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :create_merge_request_from / _in
    if (targetProjectId != null && targetProjectId !== p.id) throw forbidden();
    // MergeRequests::BuildService / MergeRequest#validate_branches
    if (sourceBranch === targetBranch)
      throw apiError(422, ["You can't use same project/branch for source and target"]);
    if (!p.branches[sourceBranch]) throw apiError(422, [`Source branch "${sourceBranch}" does not exist`]);
    if (!p.branches[targetBranch]) throw apiError(422, [`Target branch "${targetBranch}" does not exist`]);
    const conflict = openConflict({ projectId: p.id, sourceBranch, targetBranch });
    if (conflict)
      throw apiError(409, [
        `Another open merge request already exists for this source branch: !${conflict.iid}`,
      ]);
    if (title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
    const ts = now();
    const mr: FakeMergeRequest = {
      id: nextId("mergeRequest"),
      iid: nextIid("mr", p.id),
      projectId: p.id,
      title,
      description: pStr(ctx.params, "description") ?? null,
      state: "opened",
      sourceBranch,
      targetBranch,
      labels,
      authorId: ctx.auth!.user.id,
      assigneeIds: assigneeIds.length ? assigneeIds : assigneeId != null ? [assigneeId] : [],
      reviewerIds,
      squash,
      removeSourceBranch,
      sha: p.branches[sourceBranch].commitId,
      createdAt: ts,
      updatedAt: ts,
      closedAt: null,
      mergedAt: null,
    };
    state.mergeRequests.push(mr);
    return created(mrEntity(mr));
  });
  route(
    "PUT",
    "/projects/:id/merge_requests/:merge_request_iid",
    (ctx) => {
      const keys = [
        "target_branch",
        "title",
        "assignee_id",
        "assignee_ids",
        "reviewer_ids",
        "description",
        "state_event",
        "labels",
        "add_labels",
        "remove_labels",
        "milestone_id",
        "remove_source_branch",
        "allow_collaboration",
        "allow_maintainer_to_push",
        "squash",
        "discussion_locked",
      ];
      if (!keys.some((k) => has(ctx.params, k)))
        throw grapeError(`${keys.join(", ")} are missing, at least one parameter must be provided`);
      const stateEvent = pValues(ctx.params, "state_event", ["close", "reopen"] as const);
      const title = pStr(ctx.params, "title");
      const targetBranch = pStr(ctx.params, "target_branch");
      const assigneeIds = pIntList(ctx.params, "assignee_ids");
      const reviewerIds = pIntList(ctx.params, "reviewer_ids");
      const squash = pBool(ctx.params, "squash");
      const removeSourceBranch = pBool(ctx.params, "remove_source_branch");
      const p = userProject(ctx);
      const mr = findMr(ctx, p);
      // :update_merge_request — Developer, or the author
      authorize(level(ctx, p) >= AccessLevel.DEVELOPER || mr.authorId === ctx.auth!.user.id);
      const next: FakeMergeRequest = { ...mr };
      if (title != null) next.title = title;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (targetBranch != null) next.targetBranch = targetBranch;
      if (assigneeIds) next.assigneeIds = assigneeIds;
      if (reviewerIds) next.reviewerIds = reviewerIds;
      if (squash !== undefined) next.squash = squash;
      if (removeSourceBranch !== undefined) next.removeSourceBranch = removeSourceBranch;
      next.labels = applyLabelEdits(mr.labels, ctx.params);
      if (stateEvent === "close" && mr.state === "opened") {
        next.state = "closed";
        next.closedAt = now();
      }
      // MergeRequest#reopenable? needs the source branch; ReopenService reloads the diff, so the merge
      // request takes the source branch's head. (Without the branch the fake leaves it closed.)
      if (stateEvent === "reopen" && mr.state === "closed" && p.branches[mr.sourceBranch]) {
        next.state = "opened";
        next.closedAt = null;
        next.sha = p.branches[mr.sourceBranch].commitId;
      }
      if (next.title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
      if (targetBranch != null && !p.branches[targetBranch])
        throw apiError(422, [`Target branch "${targetBranch}" does not exist`]);
      if (next.state === "opened") {
        const conflict = openConflict(next, mr.id);
        if (conflict)
          throw apiError(409, [
            `Another open merge request already exists for this source branch: !${conflict.iid}`,
          ]);
      }
      const status = next.state === mr.state ? undefined : next.state === "closed" ? "closed" : "reopened";
      Object.assign(mr, next, { updatedAt: now() });
      if (status) statusNote("MergeRequest", mr, ctx.auth!.user.id, status);
      return ok(mrEntity(mr));
    },
    { intParams: ["merge_request_iid"] },
  );
}
