import * as crypto from "node:crypto";
import { AccessLevel, FakeBranch, FakeProject, FakeCommitAction, FakeCommit } from "./types";
import {
  Params,
  apiError,
  grapeError,
  notFound,
  now,
  sha1Hex,
  gitBlobId,
  has,
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

/** Repository files and commits (lib/api/files.rb, commits.rb). */
export function registerFiles(core: Core): void {
  const {
    state,
    projectLevel,
    userProject,
    level,
    authorize,
    readsPublicly,
    branchOf,
    resolveRef,
    resolveCommit,
    refreshMergeRequests,
    route,
    commitEntity,
    paginate,
  } = core;
  // --- repository files (lib/api/files.rb) and commits (lib/api/commits.rb) ----------------
  interface PlannedAction {
    action: FakeCommitAction["action"];
    filePath: string;
    previousPath?: string;
    content?: Buffer;
    lastCommitId?: string;
    executeFilemode?: boolean;
  }
  /** Commits::CreateService + Gitaly UserCommitFiles; throws 400 with GitLab's messages. */
  const commit = (
    ctx: Ctx,
    p: FakeProject,
    input: {
      branch: string;
      startBranch?: string;
      message: string;
      actions: PlannedAction[];
      authorName?: string;
      authorEmail?: string;
      filesApi: boolean;
    },
  ): FakeCommit => {
    const user = ctx.auth!.user;
    const target = branchOf(p, input.branch);
    const startName = input.startBranch ?? input.branch;
    const start = branchOf(p, startName);
    const empty = Object.keys(p.branches).length === 0;
    const protectedTarget = target ? target.protected : false;
    if (projectLevel(user, p) < (protectedTarget ? AccessLevel.MAINTAINER : AccessLevel.DEVELOPER))
      throw apiError(400, "You are not allowed to push into this branch");
    if (!empty && !start) throw apiError(400, "You can only create or edit files when you are on a branch");
    if (!empty && input.startBranch !== undefined && input.startBranch !== input.branch && target)
      throw apiError(
        400,
        `A branch called '${input.branch}' already exists. Switch to that branch in order to make changes`,
      );
    const base = { ...(p.files[startName] ?? {}) };
    for (const a of input.actions) {
      const existing = base[a.filePath];
      if (a.filePath === "" || a.filePath.endsWith("/")) throw apiError(400, "You must provide a file path");
      if (a.filePath.split("/").includes(".."))
        throw apiError(400, "Path cannot include directory traversal");
      if (a.action === "create") {
        if (existing) throw apiError(400, "A file with this name already exists");
      } else if (a.action === "move") {
        const from = a.previousPath ?? "";
        if (!base[from]) throw apiError(400, "A file with this name doesn't exist");
        if (existing) throw apiError(400, "A file with this name already exists");
      } else if (!existing) {
        throw apiError(400, "A file with this name doesn't exist");
      }
      if (a.lastCommitId !== undefined && existing && a.lastCommitId !== existing.lastCommitId) {
        throw apiError(
          400,
          input.filesApi
            ? "You are attempting to update a file that has changed since you started editing it."
            : `The file has changed since you started editing it: ${a.filePath}`,
        );
      }
    }
    const id = sha1Hex();
    const ts = now();
    for (const a of input.actions) {
      if (a.action === "delete") {
        delete base[a.filePath];
        continue;
      }
      if (a.action === "chmod") {
        base[a.filePath] = { ...base[a.filePath], executeFilemode: !!a.executeFilemode, lastCommitId: id };
        continue;
      }
      const prev = a.action === "move" ? base[a.previousPath ?? ""] : base[a.filePath];
      if (a.action === "move") delete base[a.previousPath ?? ""];
      const content = a.content ?? prev?.content ?? Buffer.alloc(0);
      base[a.filePath] = {
        content,
        blobId: gitBlobId(content),
        lastCommitId: id,
        executeFilemode: a.executeFilemode ?? prev?.executeFilemode ?? false,
      };
    }
    p.files[input.branch] = base;
    const parent = start?.commitId;
    p.branches[input.branch] = {
      name: input.branch,
      commitId: id,
      protected: target?.protected ?? (empty && input.branch === p.defaultBranch),
    };
    const c: FakeCommit = {
      id,
      projectId: p.id,
      branch: input.branch,
      message: input.message,
      parentIds: parent ? [parent] : [],
      authorName: input.authorName ?? user.name,
      authorEmail: input.authorEmail ?? user.email,
      actions: input.actions.map((a) => ({
        action: a.action,
        filePath: a.filePath,
        ...(a.previousPath ? { previousPath: a.previousPath } : {}),
      })),
      createdAt: ts,
    };
    state.commits.push(c);
    refreshMergeRequests(p, input.branch);
    return c;
  };
  const fileContent = (ctx: Ctx, key = "content", encodingKey = "encoding"): Buffer => {
    const enc = pValues(ctx.params, encodingKey, ["text", "base64"] as const) ?? "text";
    const raw = pStr(ctx.params, key) ?? "";
    return enc === "base64" ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  };
  const fileWriteParams = (ctx: Ctx, withContent: boolean) => {
    requireParams(ctx.params, "branch", "commit_message", ...(withContent ? ["content"] : []));
    const branch = pStr(ctx.params, "branch") ?? "";
    const message = pStr(ctx.params, "commit_message") ?? "";
    if (branch === "") throw grapeError("branch is empty");
    if (message === "") throw grapeError("commit_message is empty");
    return {
      branch,
      message,
      startBranch: pStr(ctx.params, "start_branch") ?? undefined,
      authorName: pStr(ctx.params, "author_name") ?? undefined,
      authorEmail: pStr(ctx.params, "author_email") ?? undefined,
      lastCommitId: pStr(ctx.params, "last_commit_id") ?? undefined,
      executeFilemode: pBool(ctx.params, "execute_filemode"),
    };
  };
  const readFileFor = (ctx: Ctx) => {
    requireParams(ctx.params, "ref");
    const ref = pStr(ctx.params, "ref") ?? "";
    if (ref === "") throw grapeError("ref is empty");
    const p = userProject(ctx);
    authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_code
    const branch = resolveRef(p, ref);
    if (branch === undefined) throw notFound("Commit");
    const filePath = String(ctx.route.file_path);
    const f = p.files[branch]?.[filePath];
    if (!f) throw notFound("File");
    return { p, ref, branch, filePath, f };
  };
  route(
    "GET",
    "/projects/:id/repository/files/:file_path",
    (ctx) => {
      const { p, ref, branch, filePath, f } = readFileFor(ctx);
      return ok({
        file_name: filePath.split("/").pop(),
        file_path: filePath,
        size: f.content.length,
        encoding: "base64",
        content_sha256: crypto.createHash("sha256").update(f.content).digest("hex"),
        ref,
        blob_id: f.blobId,
        commit_id: p.branches[branch].commitId,
        last_commit_id: f.lastCommitId,
        execute_filemode: f.executeFilemode,
        content: f.content.toString("base64"),
      });
    },
    { getScopes: ["read_repository"] },
  );
  route(
    "GET",
    "/projects/:id/repository/files/:file_path/raw",
    (ctx) => {
      if (!has(ctx.params, "ref")) {
        const p = userProject(ctx);
        ctx.params.ref = p.defaultBranch;
      }
      const { f } = readFileFor(ctx);
      return { status: 200, body: f.content };
    },
    { getScopes: ["read_repository"], jobToken: true },
  );
  route("POST", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, true);
    const content = fileContent(ctx);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER); // :push_code
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [
        {
          action: "create",
          filePath,
          content,
          lastCommitId: w.lastCommitId,
          executeFilemode: w.executeFilemode,
        },
      ],
    });
    return created({ file_path: filePath, branch: w.branch });
  });
  route("PUT", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, true);
    const content = fileContent(ctx);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [
        {
          action: "update",
          filePath,
          content,
          lastCommitId: w.lastCommitId,
          executeFilemode: w.executeFilemode,
        },
      ],
    });
    return ok({ file_path: filePath, branch: w.branch });
  });
  route("DELETE", "/projects/:id/repository/files/:file_path", (ctx) => {
    const w = fileWriteParams(ctx, false);
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const filePath = String(ctx.route.file_path);
    commit(ctx, p, {
      ...w,
      filesApi: true,
      actions: [{ action: "delete", filePath, lastCommitId: w.lastCommitId }],
    });
    return noContent();
  });
  route("POST", "/projects/:id/repository/commits", (ctx) => {
    requireParams(ctx.params, "branch", "commit_message", "actions");
    const rawActions = ctx.params.actions;
    if (!Array.isArray(rawActions) || rawActions.length === 0) throw grapeError("actions is invalid");
    const actions: PlannedAction[] = rawActions.map((raw, i) => {
      if (typeof raw !== "object" || raw === null) throw grapeError(`actions[${i}] is invalid`);
      const a = raw as Params;
      requireParams(a, "action", "file_path");
      const action = pValues(a, "action", ["create", "update", "delete", "move", "chmod"] as const)!;
      const enc = pValues(a, "encoding", ["text", "base64"] as const) ?? "text";
      const rawContent = pStr(a, "content");
      return {
        action,
        filePath: pStr(a, "file_path") ?? "",
        previousPath: pStr(a, "previous_path") ?? undefined,
        content:
          rawContent == null ? undefined : Buffer.from(rawContent, enc === "base64" ? "base64" : "utf8"),
        lastCommitId: pStr(a, "last_commit_id") ?? undefined,
        executeFilemode: pBool(a, "execute_filemode"),
      };
    });
    const p = userProject(ctx);
    authorize(level(ctx, p) >= AccessLevel.DEVELOPER);
    const c = commit(ctx, p, {
      branch: pStr(ctx.params, "branch") ?? "",
      startBranch: pStr(ctx.params, "start_branch") ?? undefined,
      message: pStr(ctx.params, "commit_message") ?? "",
      authorName: pStr(ctx.params, "author_name") ?? undefined,
      authorEmail: pStr(ctx.params, "author_email") ?? undefined,
      actions,
      filesApi: false,
    });
    return created(commitEntity(c));
  });

  /** `git branch --contains`: walks parent ids from the branch head (seeded heads have no parents). */
  const branchContains = (p: FakeProject, b: FakeBranch, sha: string): boolean => {
    const seen = new Set<string>();
    const todo = [b.commitId];
    while (todo.length) {
      const id = todo.pop()!;
      if (id === sha) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      const c = state.commits.find((x) => x.projectId === p.id && x.id === id);
      if (c) todo.push(...c.parentIds);
    }
    return false;
  };
  // GET /projects/:id/repository/commits/:sha/refs (lib/api/commits.rb): the branches and tags the commit
  // is pushed to, i.e. that contain it.
  route(
    "GET",
    "/projects/:id/repository/commits/:sha/refs",
    (ctx) => {
      const type = pValues(ctx.params, "type", ["branch", "tag", "all"] as const) ?? "all";
      const p = userProject(ctx);
      authorize(readsPublicly(ctx, p, AccessLevel.REPORTER)); // :read_code
      const found = resolveCommit(p, String(ctx.route.sha));
      if (!found) throw notFound("Commit");
      const branches =
        type === "tag"
          ? []
          : Object.values(p.branches)
              .filter((b) => branchContains(p, b, found.commitId))
              .map((b) => ({ type: "branch", name: b.name }));
      return ok(paginate(ctx, branches));
    },
    { getScopes: ["read_repository"] },
  );
}
