/**
 * Merge requests (GitLab API: /projects/:id/merge_requests). At most one open MR per source and target
 * branch pair: found again and edited rather than opened twice. Needs a token with the api scope whose
 * user is at least Developer on the project (CI_JOB_TOKEN cannot open merge requests).
 */
import type { GitlabApi } from "./client";
import { call } from "./errors";

export interface MergeRequestSpec {
  project: string | number;
  sourceBranch: string;
  targetBranch: string;
  title: string;
  description: string;
  labels?: string[];
  tokenVariable?: string;
}

export type MergeRequestResult = {
  action: "created" | "updated" | "unchanged";
  iid: number;
  webUrl?: string;
};

export async function upsertMergeRequest(
  api: GitlabApi,
  spec: MergeRequestSpec,
): Promise<MergeRequestResult> {
  const { project, sourceBranch, targetBranch, title, description, tokenVariable } = spec;
  const ctx = {
    scope: "api",
    role: `Developer (or higher) on ${project}, allowed to push to or merge into ${targetBranch}`,
    target: `project ${project}`,
    tokenVariable,
  };
  const open = await call(
    { ...ctx, action: `look for an open merge request ${sourceBranch} -> ${targetBranch}` },
    () =>
      api.MergeRequests.all({
        projectId: project,
        state: "opened",
        sourceBranch,
        targetBranch,
        perPage: 100,
      }),
  );
  const existing = open.find((mr) => mr.source_branch === sourceBranch && mr.target_branch === targetBranch);
  const labels = spec.labels?.join(",");
  if (!existing) {
    const created = await call(
      { ...ctx, action: `open a merge request ${sourceBranch} -> ${targetBranch}` },
      () =>
        api.MergeRequests.create(project, sourceBranch, targetBranch, title, {
          description,
          removeSourceBranch: false,
          ...(labels ? { labels } : {}),
        }),
    );
    return { action: "created", iid: created.iid, webUrl: created.web_url };
  }
  if (existing.title === title && existing.description === description)
    return { action: "unchanged", iid: existing.iid, webUrl: existing.web_url };
  await call({ ...ctx, action: `update merge request !${existing.iid}` }, () =>
    api.MergeRequests.edit(project, existing.iid, { title, description }),
  );
  return { action: "updated", iid: existing.iid, webUrl: existing.web_url };
}
