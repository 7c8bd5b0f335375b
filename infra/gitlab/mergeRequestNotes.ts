/**
 * Merge request notes (GitLab API: /projects/:id/merge_requests/:iid/notes). One note per marker, found
 * again and edited in place, so a pipeline that runs twice leaves one note. Needs a token with the api
 * scope whose user is at least Reporter on the project (CI_JOB_TOKEN may only read notes).
 */
import type { GitlabApi } from "./client";
import { call } from "./errors";

export interface NoteTarget {
  project: string | number;
  mergeRequestIid: number;
  tokenVariable?: string;
}

export type UpsertResult = { action: "created" | "updated" | "unchanged"; id: number };

/** Creates the note whose body starts with `marker`, or edits the one already there. */
export async function upsertMergeRequestNote(
  api: GitlabApi,
  target: NoteTarget,
  marker: string,
  body: string,
): Promise<UpsertResult> {
  const { project, mergeRequestIid: iid, tokenVariable } = target;
  const ctx = {
    scope: "api",
    role: `Reporter (or higher) on ${project}`,
    target: `merge request !${iid} of project ${project}`,
    tokenVariable,
  };
  const notes = await call({ ...ctx, action: `list the notes of merge request !${iid}` }, () =>
    api.MergeRequestNotes.all(project, iid, { sort: "asc", orderBy: "created_at", perPage: 100 }),
  );
  const mine = notes.find((n) => !n.system && typeof n.body === "string" && n.body.startsWith(marker));
  if (!mine) {
    const created = await call({ ...ctx, action: `post a note on merge request !${iid}` }, () =>
      api.MergeRequestNotes.create(project, iid, body),
    );
    return { action: "created", id: created.id };
  }
  if (mine.body === body) return { action: "unchanged", id: mine.id };
  await call({ ...ctx, action: `edit note ${mine.id} on merge request !${iid}` }, () =>
    api.MergeRequestNotes.edit(project, iid, mine.id, { body }),
  );
  return { action: "updated", id: mine.id };
}
