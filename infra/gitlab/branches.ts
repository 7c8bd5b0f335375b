/**
 * Branches (GitLab API: /projects/:id/repository/branches). The API cannot move a branch: a branch is
 * created at a ref (a branch name or a commit SHA the project has) and deleted. Creating and deleting need
 * push rights (Developer, or what the branch's protection allows); GitLab refuses to delete a protected
 * branch or the default branch (405).
 */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce, type CallContext } from "./errors";

export interface BranchRef {
  project: string | number;
  branch: string;
  tokenVariable?: string;
}

const context = (ref: BranchRef, action: string): CallContext => ({
  action,
  scope: "api",
  role: `Developer (or higher) on ${ref.project}, allowed to push to ${ref.branch}`,
  target: `project ${ref.project}`,
  tokenVariable: ref.tokenVariable,
});

/** The commit SHA the branch points at, or undefined when there is no such branch. */
export async function branchHead(api: GitlabApi, ref: BranchRef): Promise<string | undefined> {
  const b = await callOrAbsent(context(ref, `read branch ${ref.branch}`), () =>
    api.Branches.show(ref.project, ref.branch),
  );
  return b?.commit?.id as string | undefined;
}

/** Creates the branch; a create whose answer was lost is checked (the branch at `at`) in the same run. */
export async function createBranch(api: GitlabApi, ref: BranchRef, at: string): Promise<void> {
  await createOnce(
    () =>
      call(context(ref, `create branch ${ref.branch} at ${at}`), () =>
        api.Branches.create(ref.project, ref.branch, at),
      ).then(() => true),
    async () => ((await branchHead(api, ref)) === at ? true : undefined),
  );
}

/** Deletes the branch; a branch already gone is not an error. */
export async function deleteBranch(api: GitlabApi, ref: BranchRef): Promise<void> {
  await callOrAbsent(context(ref, `delete branch ${ref.branch}`), () =>
    api.Branches.remove(ref.project, ref.branch),
  );
}
