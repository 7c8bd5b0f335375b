/** Repository files (`/projects/:id/repository/files`): kept equal to a desired content, committing only on change. */
import { createHash } from "node:crypto";
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce, type GitlabApiError } from "./errors";

export interface FileState {
  path: string;
  branch: string;
  /** sha256 of the content, as GitLab reports it (content_sha256). */
  sha256: string;
  lastCommitId?: string;
}

const ctx = (project: string, action: string) => ({
  action,
  scope: "api",
  role: `Developer (Maintainer on a protected branch) on ${project}`,
  target: `project ${project}`,
});

export const sha256 = (content: string) => createHash("sha256").update(content, "utf8").digest("hex");

export async function defaultBranch(api: GitlabApi, project: string): Promise<string> {
  const p = await call(ctx(project, `read project ${project}`), () => api.Projects.show(project));
  const branch = (p as unknown as { default_branch?: string }).default_branch;
  if (!branch)
    throw new Error(`Project ${project} has no default branch (an empty repository?); push a first commit`);
  return branch;
}

/** Current file on `branch`, or undefined when it does not exist. */
export async function readFile(
  api: GitlabApi,
  project: string,
  path: string,
  branch: string,
): Promise<(FileState & { content: string }) | undefined> {
  const raw = await callOrAbsent(ctx(project, `read ${path} in ${project}`), () =>
    api.RepositoryFiles.show(project, path, branch),
  );
  if (!raw) return undefined;
  const f = raw as unknown as Record<string, string>;
  const content = Buffer.from(
    f.content ?? "",
    (f.encoding as BufferEncoding) === "base64" ? "base64" : "utf8",
  ).toString("utf8");
  return {
    path,
    branch,
    sha256: f.content_sha256 ?? sha256(content),
    lastCommitId: f.last_commit_id,
    content,
  };
}

/**
 * Makes `path` hold `content` on `branch` (default: the project's default branch). Commits only on change.
 * `previous` is the content found before (undefined: there was no file), so the caller can tell a file it
 * created from one it took over. A create whose answer was lost is checked by reading the file again in
 * the same run: there with this content, done; there with other content, updated; missing, created once more.
 */
export async function ensureFile(
  api: GitlabApi,
  project: string,
  path: string,
  content: string,
  options: { branch?: string; message: string },
): Promise<FileState & { changed: boolean; previous?: string }> {
  const branch = options.branch ?? (await defaultBranch(api, project));
  const current = await readFile(api, project, path, branch);
  if (current && current.sha256 === sha256(content))
    return { ...current, changed: false, previous: current.content };
  const update = () =>
    call(ctx(project, `update ${path} in ${project}`), () =>
      api.RepositoryFiles.edit(project, path, branch, content, options.message),
    );
  if (current) await update();
  else
    await createOnce(
      () =>
        call(ctx(project, `create ${path} in ${project}`), () =>
          api.RepositoryFiles.create(project, path, branch, content, options.message),
        ),
      async () => {
        const now = await readFile(api, project, path, branch);
        if (now && now.sha256 !== sha256(content)) return update();
        return now;
      },
    );
  const after = await readFile(api, project, path, branch);
  return {
    path,
    branch,
    sha256: sha256(content),
    lastCommitId: after?.lastCommitId,
    changed: true,
    previous: current?.content,
  };
}

/**
 * Deletes the file; one already gone is fine. GitLab answers a DELETE of a file that is not there with
 * 400 "A file with this name doesn't exist", not 404: that is what a resent DELETE meets when the first
 * one's answer was lost or a proxy answered 504 after the commit. A 400 is therefore checked against the
 * branch: the file gone means done.
 */
export async function deleteFile(
  api: GitlabApi,
  project: string,
  path: string,
  branch: string,
  message: string,
): Promise<void> {
  try {
    await callOrAbsent(ctx(project, `delete ${path} in ${project}`), () =>
      api.RepositoryFiles.remove(project, path, branch, message),
    );
  } catch (e) {
    if ((e as GitlabApiError).status === 400 && !(await readFile(api, project, path, branch))) return;
    throw e;
  }
}
