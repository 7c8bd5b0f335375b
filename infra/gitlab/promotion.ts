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
 * The merge request is this stack's when its description starts with one of `markers` (the CI helper's
 * hidden marker): one for the same branches without it (another user's) is never edited or reopened,
 * and while it is open nothing is done (moving the branch would close it) and the run fails saying so.
 * A merge request of this stack found closed is reopened only when its head is no longer the promotion
 * branch's head: the branch was deleted or moved under it, by this step (a run that stopped between
 * the branch's delete and the reopen). One closed by a user at the commit it still shows stays closed.
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
import { call, createOnce, GitlabApiError, type CallContext } from "./errors";

export interface PromotionSpec {
  project: string | number;
  /** The commit the source environment deployed. */
  sha: string;
  /** Branch created at `sha`: the merge request's source. */
  promotionBranch: string;
  /** The next environment's deploy branch. */
  targetBranch: string;
  title: string;
  /** Starts with `markers[0]`. */
  description: string;
  /**
   * The hidden markers that make a merge request this stack's (its description starts with one): the
   * one written now first, then older forms still recognised.
   */
  markers: readonly string[];
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

type Mr = { iid: number; state: string; description?: string | null; sha?: string | null; web_url?: string };

export async function promoteCommit(api: GitlabApi, spec: PromotionSpec): Promise<PromotionResult> {
  const { project, sha, promotionBranch, targetBranch, title, description, markers, tokenVariable } = spec;
  if (!markers.length || !description.startsWith(markers[0]))
    throw new Error("promoteCommit: the description must start with the first of the markers");
  const ctx: CallContext = {
    action: "",
    scope: "api",
    role: `Developer (or higher) on ${project}, allowed to push to ${promotionBranch}`,
    target: `project ${project}`,
    tokenVariable,
  };
  const isOurs = (mr: Mr) => markers.some((m) => (mr.description ?? "").startsWith(m));
  /** The merge requests of this pair, newest first: this stack's (any state) and the others' open ones. */
  const pair = async (state: "opened" | "all") => {
    const all = (await call(
      { ...ctx, action: `look for merge requests ${promotionBranch} -> ${targetBranch}` },
      () =>
        api.MergeRequests.all({
          projectId: project,
          ...(state === "opened" ? { state } : {}), // GitLab's default: every state
          sourceBranch: promotionBranch,
          targetBranch,
          orderBy: "created_at",
          sort: "desc",
          perPage: 100,
        }),
    )) as unknown as (Mr & { source_branch: string; target_branch: string })[];
    const mrs = all
      .filter((mr) => mr.source_branch === promotionBranch && mr.target_branch === targetBranch)
      .sort((a, b) => b.iid - a.iid);
    return {
      ours: mrs.find(isOurs),
      foreign: mrs.find((mr) => !isOurs(mr) && mr.state === "opened"),
    };
  };
  const findOpen = async () => {
    const { ours } = await pair("opened");
    return ours;
  };

  let unknownEnvironment: true | undefined;
  if (spec.environment) {
    const running = await deployedCommit(api, String(project), spec.environment, tokenVariable);
    if (running === undefined) unknownEnvironment = true;
    else if (running !== null && running !== sha) return { action: "not-running", running };
  }
  const ref = { project, branch: promotionBranch, tokenVariable };
  const head = await branchHead(api, ref);
  const { ours, foreign } = await pair("all");
  const open = ours?.state === "opened" ? ours : undefined;
  // Closed while the branch was deleted or moved under it (its head is not the branch's any more): by
  // this step, in a run that stopped before the reopen. Closed at the head it still shows: by a user.
  const closedByMove = ours?.state === "closed" && (ours.sha ?? undefined) !== head;
  const existing = open ?? (closedByMove ? ours : undefined);
  if (!open && (await branchContains(api, spec, ctx))) return { action: "already-promoted" };
  if (foreign)
    throw new GitlabApiError(
      `Cannot promote ${sha.slice(0, 8)} to ${targetBranch}: merge request !${foreign.iid} from ${promotionBranch} ` +
        `into ${targetBranch} is open and is not this stack's promotion (its description does not start with ` +
        `${markers[0]}). It is left alone: moving ${promotionBranch} would close it, and GitLab allows one open ` +
        `merge request per pair of branches. Close or merge !${foreign.iid}${foreign.web_url ? ` (${foreign.web_url})` : ""}, ` +
        "then run the promote job again.",
    );

  const moved = head !== sha;
  if (moved) {
    if (head !== undefined) await deleteBranch(api, ref);
    await createBranch(api, ref, sha);
  }

  if (!existing) {
    // A create whose answer was lost is found by its marker in the same run, never sent twice.
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
  const current = (
    moved || existing.state !== "opened"
      ? await call({ ...ctx, action: `read merge request !${existing.iid}` }, () =>
          api.MergeRequests.show(project, existing.iid),
        )
      : existing
  ) as Mr & { title?: string };
  const done = { iid: existing.iid, webUrl: existing.web_url, moved, unknownEnvironment };
  if (current.state === "closed") {
    // Resent after a lost answer, a reopen of an open merge request changes nothing (ReopenService).
    await call({ ...ctx, action: `reopen merge request !${existing.iid}` }, () =>
      api.MergeRequests.edit(project, existing.iid, { stateEvent: "reopen", title, description }),
    );
    return { action: "reopened", ...done };
  }
  if (current.title === title && current.description === description) return { action: "unchanged", ...done };
  await call({ ...ctx, action: `update merge request !${existing.iid}` }, () =>
    api.MergeRequests.edit(project, existing.iid, { title, description }),
  );
  return { action: "updated", ...done };
}
