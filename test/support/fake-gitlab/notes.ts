import { AccessLevel, FakeNote } from "./types";
import {
  apiError,
  notFound,
  recordNotFound,
  forbidden,
  now,
  requireParams,
  pStr,
  pBool,
  pValues,
  Ctx,
  ok,
  created,
  noContent,
} from "./http";
import type { Core } from "./core";

/** Notes on merge requests and issues (lib/api/notes.rb). */
export function registerNotes(core: Core): void {
  const {
    state,
    nextId,
    userProject,
    level,
    authorize,
    canReadMrs,
    canReadIssues,
    route,
    noteEntity,
    paginate,
  } = core;
  // --- notes (lib/api/notes.rb) on merge requests and issues ------------------------------
  type NoteableKind = "MergeRequest" | "Issue";
  const noteable = (ctx: Ctx, kind: NoteableKind) => {
    const p = userProject(ctx);
    // NotesHelpers#find_noteable: not_found!(noteable_type)
    if (kind === "MergeRequest") {
      const mr = state.mergeRequests.find((m) => m.projectId === p.id && m.iid === ctx.route.noteable_iid);
      if (!mr || !canReadMrs(ctx, p)) throw notFound("MergeRequest");
      return { p, id: mr.id, iid: mr.iid };
    }
    const issue = state.issues.find((i) => i.projectId === p.id && i.iid === ctx.route.noteable_iid);
    if (!issue || !canReadIssues(ctx, p)) throw notFound("Issue");
    return { p, id: issue.id, iid: issue.iid };
  };
  const notesRoutes = (kind: NoteableKind, segment: string): void => {
    const base = `/projects/:id/${segment}/:noteable_iid/notes`;
    const isMr = kind === "MergeRequest";
    route(
      "GET",
      base,
      (ctx) => {
        const orderBy =
          pValues(ctx.params, "order_by", ["created_at", "updated_at"] as const) ?? "created_at";
        const sort = pValues(ctx.params, "sort", ["asc", "desc"] as const) ?? "desc";
        const n = noteable(ctx, kind);
        const privileged = level(ctx, n.p) >= AccessLevel.REPORTER;
        const notes = state.notes
          .filter((x) => x.noteableType === kind && x.noteableId === n.id && (!x.internal || privileged))
          .sort((a, b) => {
            const ka = orderBy === "updated_at" ? a.updatedAt : a.createdAt;
            const kb = orderBy === "updated_at" ? b.updatedAt : b.createdAt;
            const dir = sort === "asc" ? 1 : -1;
            return ka < kb ? -dir : ka > kb ? dir : dir * (a.id - b.id);
          });
        return ok(paginate(ctx, notes).map(noteEntity));
      },
      { jobToken: isMr, intParams: ["noteable_iid"] },
    );
    route(
      "GET",
      `${base}/:note_id`,
      (ctx) => {
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        return ok(noteEntity(note));
      },
      { jobToken: isMr, intParams: ["noteable_iid", "note_id"] },
    );
    route(
      "POST",
      base,
      (ctx) => {
        requireParams(ctx.params, "body");
        const body = pStr(ctx.params, "body") ?? "";
        const internal = pBool(ctx.params, "internal") ?? pBool(ctx.params, "confidential") ?? false;
        const n = noteable(ctx, kind);
        if (internal && level(ctx, n.p) < AccessLevel.REPORTER) throw forbidden();
        if (body.trim() === "") throw apiError(400, { note: ["can't be blank"] });
        const ts = now();
        const note: FakeNote = {
          id: nextId("note"),
          projectId: n.p.id,
          noteableType: kind,
          noteableId: n.id,
          noteableIid: n.iid,
          body,
          authorId: ctx.auth!.user.id,
          system: false,
          internal,
          createdAt: ts,
          updatedAt: ts,
        };
        state.notes.push(note);
        return created(noteEntity(note));
      },
      { intParams: ["noteable_iid"] },
    );
    route(
      "PUT",
      `${base}/:note_id`,
      (ctx) => {
        const body = pStr(ctx.params, "body");
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        // :admin_note — the note's author (or an admin)
        authorize(note.authorId === ctx.auth!.user.id || ctx.auth!.user.isAdmin);
        if (body != null) {
          if (body.trim() === "") throw apiError(400, { note: ["can't be blank"] });
          note.body = body;
        }
        note.updatedAt = now();
        return ok(noteEntity(note));
      },
      { intParams: ["noteable_iid", "note_id"] },
    );
    route(
      "DELETE",
      `${base}/:note_id`,
      (ctx) => {
        const n = noteable(ctx, kind);
        const note = state.notes.find(
          (x) => x.id === ctx.route.note_id && x.noteableType === kind && x.noteableId === n.id,
        );
        if (!note) throw recordNotFound();
        authorize(note.authorId === ctx.auth!.user.id || ctx.auth!.user.isAdmin);
        state.notes = state.notes.filter((x) => x.id !== note.id);
        return noContent();
      },
      { intParams: ["noteable_iid", "note_id"] },
    );
  };
  notesRoutes("MergeRequest", "merge_requests");
  notesRoutes("Issue", "issues");
}
