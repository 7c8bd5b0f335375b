import { AccessLevel, FakeProject, FakeIssue } from "./types";
import {
  apiError,
  recordNotFound,
  now,
  has,
  requireParams,
  pStr,
  pBool,
  pValues,
  pIntList,
  Ctx,
  ok,
  created,
} from "./http";
import type { Core } from "./core";

/** Issues (lib/api/issues.rb). */
export function registerIssues(core: Core): void {
  const {
    state,
    nextId,
    nextIid,
    userProject,
    level,
    authorize,
    statusNote,
    labelsParam,
    filterByLabels,
    sortIssuables,
    applyLabelEdits,
    canReadIssues,
    route,
    issueEntity,
    paginate,
  } = core;
  // --- issues (lib/api/issues.rb) ---------------------------------------------------------
  const findIssue = (ctx: Ctx, p: FakeProject): FakeIssue => {
    const i = state.issues.find((x) => x.projectId === p.id && x.iid === ctx.route.issue_iid);
    if (!i || !canReadIssues(ctx, p)) throw recordNotFound();
    if (i.confidential && level(ctx, p) < AccessLevel.PLANNER && i.authorId !== ctx.auth!.user.id)
      throw recordNotFound();
    return i;
  };
  route("GET", "/projects/:id/issues", (ctx) => {
    const st = pValues(ctx.params, "state", ["opened", "closed", "all"] as const) ?? "all";
    const labels = labelsParam(ctx.params, "labels");
    const search = pStr(ctx.params, "search");
    const iids = pIntList(ctx.params, "iids");
    const p = userProject(ctx);
    authorize(canReadIssues(ctx, p));
    const privileged = level(ctx, p) >= AccessLevel.PLANNER;
    let issues = state.issues.filter(
      (i) => i.projectId === p.id && (!i.confidential || privileged || i.authorId === ctx.auth!.user.id),
    );
    if (st !== "all") issues = issues.filter((i) => i.state === st);
    if (iids && iids.length) issues = issues.filter((i) => iids.includes(i.iid));
    if (search) {
      const s = search.toLowerCase();
      issues = issues.filter(
        (i) => i.title.toLowerCase().includes(s) || (i.description ?? "").toLowerCase().includes(s),
      );
    }
    issues = filterByLabels(issues, labels);
    return ok(paginate(ctx, sortIssuables(ctx, issues)).map(issueEntity));
  });
  route(
    "GET",
    "/projects/:id/issues/:issue_iid",
    (ctx) => ok(issueEntity(findIssue(ctx, userProject(ctx)))),
    { intParams: ["issue_iid"] },
  );
  route("POST", "/projects/:id/issues", (ctx) => {
    requireParams(ctx.params, "title");
    const title = pStr(ctx.params, "title") ?? "";
    const labels = labelsParam(ctx.params, "labels") ?? [];
    const assigneeIds = pIntList(ctx.params, "assignee_ids") ?? [];
    const confidential = pBool(ctx.params, "confidential") ?? false;
    const p = userProject(ctx);
    authorize(canReadIssues(ctx, p)); // :create_issue
    if (title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
    const ts = now();
    const issue: FakeIssue = {
      id: nextId("issue"),
      iid: nextIid("issue", p.id),
      projectId: p.id,
      title,
      description: pStr(ctx.params, "description") ?? null,
      state: "opened",
      labels,
      authorId: ctx.auth!.user.id,
      assigneeIds,
      confidential,
      createdAt: ts,
      updatedAt: ts,
      closedAt: null,
      closedById: null,
    };
    state.issues.push(issue);
    return created(issueEntity(issue));
  });
  route(
    "PUT",
    "/projects/:id/issues/:issue_iid",
    (ctx) => {
      const stateEvent = pValues(ctx.params, "state_event", ["close", "reopen"] as const);
      const title = pStr(ctx.params, "title");
      const assigneeIds = pIntList(ctx.params, "assignee_ids");
      const confidential = pBool(ctx.params, "confidential");
      const p = userProject(ctx);
      const issue = findIssue(ctx, p);
      // :update_issue — Planner/Reporter and up, or the author
      authorize(level(ctx, p) >= AccessLevel.PLANNER || issue.authorId === ctx.auth!.user.id);
      const next: FakeIssue = { ...issue };
      if (title != null) next.title = title;
      if (has(ctx.params, "description")) next.description = pStr(ctx.params, "description") ?? null;
      if (assigneeIds) next.assigneeIds = assigneeIds;
      if (confidential !== undefined) next.confidential = confidential;
      next.labels = applyLabelEdits(issue.labels, ctx.params);
      if (stateEvent === "close" && issue.state === "opened") {
        next.state = "closed";
        next.closedAt = now();
        next.closedById = ctx.auth!.user.id;
      }
      if (stateEvent === "reopen" && issue.state === "closed") {
        next.state = "opened";
        next.closedAt = null;
        next.closedById = null;
      }
      if (next.title.trim() === "") throw apiError(400, { title: ["can't be blank"] });
      const status = next.state === issue.state ? undefined : next.state === "closed" ? "closed" : "reopened";
      Object.assign(issue, next, { updatedAt: now() });
      if (status) statusNote("Issue", issue, ctx.auth!.user.id, status);
      return ok(issueEntity(issue));
    },
    { intParams: ["issue_iid"] },
  );
}
