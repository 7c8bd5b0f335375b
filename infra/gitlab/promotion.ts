/**
 * Promotion of ONE commit to the next environment's deploy branch, through ONE merge request per pair.
 *
 * The merge request's source is a promotion branch created at exactly the commit the source environment
 * just deployed, not the source deploy branch itself (whose head may already be a newer, undeployed
 * commit). GitLab's API cannot move a branch, so when a newer commit is deployed the promotion branch is
 * deleted and created again at it. Deleting a merge request's source branch makes GitLab close the merge
 * request (MergeRequests::RefreshService, asynchronously), so the one that was open is reopened and its
 * text updated: reviewers keep one merge request, with its discussion, per pair.
 *
 * Safe to re-run: a branch already at the commit is left alone, an unchanged merge request is not edited,
 * and a commit the target branch already contains (the promotion was merged) opens nothing. With
 * `environment`, a commit that environment no longer runs promotes nothing: `resource_group` orders the
 * up jobs, not the promote jobs after them, so an older pipeline's promote job may run after a newer
 * deployment and would otherwise move the promotion back.
 */
import type { GitlabApi } from "./client";
import { branchHead, createBranch, deleteBranch } from "./branches";
import { deployedCommit } from "./environments";
import { call, createOnce, type CallContext } from "./errors";

export interface PromotionSpec {
  project: string | number;
  /** The commit the source environment deployed. */
  sha: string;
  /** Branch created at `sha`: the merge request's source. */
  promotionBranch: string;
  /** The next environment's deploy branch. */
  targetBranch: string;
  title: string;
  description: string;
  /** GitLab environment of the source stack: promote only while its last successful deployment is `sha`. */
  environment?: string;
  tokenVariable?: string;
}

export type PromotionResult =
  | {
      action: "created" | "updated" | "reopened" | "unchanged";
      iid: number;
      webUrl?: string;
      /** The promotion branch was (re)created at the commit. */
      moved: boolean;
      /** `environment` was given but GitLab has no such environment: promoted without that check. */
      unknownEnvironment?: boolean;
    }
  | { action: "already-promoted" }
  /** The environment now runs `running`, another commit: the pipeline that deployed it promotes it. */
  | { action: "not-running"; running: string };

/** GitLab's `GET /repository/commits/:sha/refs`: does `branch` contain `sha`? */
async function branchContains(api: GitlabApi, spec: PromotionSpec, ctx: CallContext): Promise<boolean> {
  const refs = await call(
    {
      ...ctx,
      action: `list the branches that contain commit ${spec.sha.slice(0, 8)}`,
      target: `commit ${spec.sha} in project ${spec.project} (was it pushed to GitLab?)`,
    },
    () => api.Commits.allReferences(spec.project, spec.sha, { type: "branch", perPage: 100, maxPages: 50 }),
  );
  return refs.some((r) => r.name === spec.targetBranch);
}

export async function promoteCommit(api: GitlabApi, spec: PromotionSpec): Promise<PromotionResult> {
  const { project, sha, promotionBranch, targetBranch, title, description, tokenVariable } = spec;
  const ctx: CallContext = {
    action: "",
    scope: "api",
    role: `Developer (or higher) on ${project}, allowed to push to ${promotionBranch}`,
    target: `project ${project}`,
    tokenVariable,
  };
  const findOpen = async () => {
    const open = await call(
      { ...ctx, action: `look for an open merge request ${promotionBranch} -> ${targetBranch}` },
      () =>
        api.MergeRequests.all({
          projectId: project,
          state: "opened",
          sourceBranch: promotionBranch,
          targetBranch,
          perPage: 100,
        }),
    );
    return open.find((mr) => mr.source_branch === promotionBranch && mr.target_branch === targetBranch);
  };

  let unknownEnvironment: true | undefined;
  if (spec.environment) {
    const running = await deployedCommit(api, String(project), spec.environment, tokenVariable);
    if (running === undefined) unknownEnvironment = true;
    else if (running !== null && running !== sha) return { action: "not-running", running };
  }
  const existing = await findOpen();
  if (!existing && (await branchContains(api, spec, ctx))) return { action: "already-promoted" };

  const ref = { project, branch: promotionBranch, tokenVariable };
  const head = await branchHead(api, ref);
  const moved = head !== sha;
  if (moved) {
    if (head !== undefined) await deleteBranch(api, ref);
    await createBranch(api, ref, sha);
  }

  if (!existing) {
    // A create whose answer was lost is found by its source branch in the same run, never sent twice.
    const { value: created } = await createOnce<{ iid: number; web_url?: string }>(
      () =>
        call({ ...ctx, action: `open a merge request ${promotionBranch} -> ${targetBranch}` }, () =>
          api.MergeRequests.create(project, promotionBranch, targetBranch, title, {
            description,
            // The branch exists only for this merge request.
            removeSourceBranch: true,
          }),
        ),
      findOpen,
    );
    return { action: "created", iid: created.iid, webUrl: created.web_url, moved, unknownEnvironment };
  }

  // Deleting the branch may have closed the merge request (at once, or a moment later in GitLab's
  // background jobs; those close only while the branch is missing, so after the re-create it stays open).
  const current = moved
    ? await call({ ...ctx, action: `read merge request !${existing.iid}` }, () =>
        api.MergeRequests.show(project, existing.iid),
      )
    : existing;
  if (current.state === "closed") {
    await call({ ...ctx, action: `reopen merge request !${existing.iid}` }, () =>
      api.MergeRequests.edit(project, existing.iid, { stateEvent: "reopen", title, description }),
    );
    return { action: "reopened", iid: existing.iid, webUrl: existing.web_url, moved, unknownEnvironment };
  }
  if (current.title === title && current.description === description)
    return { action: "unchanged", iid: existing.iid, webUrl: existing.web_url, moved, unknownEnvironment };
  await call({ ...ctx, action: `update merge request !${existing.iid}` }, () =>
    api.MergeRequests.edit(project, existing.iid, { title, description }),
  );
  return { action: "updated", iid: existing.iid, webUrl: existing.web_url, moved, unknownEnvironment };
}
