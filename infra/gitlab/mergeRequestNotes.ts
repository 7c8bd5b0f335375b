/**
 * Merge request notes (GitLab API: /projects/:id/merge_requests/:iid/notes). One note per marker, found
 * again and edited in place, so a pipeline that runs twice leaves one note. Needs a token with the api
 * scope whose user is at least Reporter on the project (CI_JOB_TOKEN may only read notes).
 *
 * The note found again is the marker note written by the token's user; GitLab lets only a note's author
 * edit it. When the only marker note is another user's (the token was replaced by one of another user),
 * editing it is tried once; refused, a new note is written and the log says so, instead of failing every
 * later preview with a 403. A create whose answer was lost is looked up (marker and author) in the same
 * run, never sent twice.
 */
import type { GitlabApi } from "./client";
import { call, createOnce, GitlabApiError } from "./errors";

export interface NoteTarget {
  project: string | number;
  mergeRequestIid: number;
  tokenVariable?: string;
}

export type UpsertResult = { action: "created" | "updated" | "unchanged"; id: number };

interface Note {
  id: number;
  body: string;
  authorId?: number;
  author?: string;
}

/**
 * Creates the note whose body starts with `marker`, or edits the one already there. `marker` may list
 * several: the one the body starts with first, then older forms of it that still find this stack's note
 * (edited to the new body, so to the new marker); a note with the first is preferred.
 */
export async function upsertMergeRequestNote(
  api: GitlabApi,
  target: NoteTarget,
  marker: string | readonly string[],
  body: string,
  options: { log?: (line: string) => void } = {},
): Promise<UpsertResult> {
  const { project, mergeRequestIid: iid, tokenVariable } = target;
  const markers = typeof marker === "string" ? [marker] : marker;
  const ctx = {
    scope: "api",
    role: `Reporter (or higher) on ${project}`,
    target: `merge request !${iid} of project ${project}`,
    tokenVariable,
  };
  const me = await call({ ...ctx, action: "read the token's user" }, () => api.Users.showCurrentUser());
  const markerNotes = async (): Promise<Note[]> => {
    const notes = await call({ ...ctx, action: `list the notes of merge request !${iid}` }, () =>
      api.MergeRequestNotes.all(project, iid, { sort: "asc", orderBy: "created_at", perPage: 100 }),
    );
    const rank = (n: { body?: unknown }) =>
      typeof n.body === "string" ? markers.findIndex((m) => (n.body as string).startsWith(m)) : -1;
    return notes
      .filter((n) => !n.system && rank(n) >= 0)
      .sort((a, b) => rank(a) - rank(b))
      .map((n) => ({
        id: n.id,
        body: n.body as string,
        authorId: (n.author as { id?: number } | undefined)?.id,
        author: (n.author as { username?: string } | undefined)?.username,
      }));
  };
  const edit = (note: Note) =>
    call({ ...ctx, action: `edit note ${note.id} on merge request !${iid}` }, () =>
      api.MergeRequestNotes.edit(project, iid, note.id, { body }),
    );
  const create = async (): Promise<UpsertResult> => {
    const { value } = await createOnce<UpsertResult>(
      async () => {
        const created = await call({ ...ctx, action: `post a note on merge request !${iid}` }, () =>
          api.MergeRequestNotes.create(project, iid, body),
        );
        return { action: "created", id: created.id };
      },
      async () => {
        const found = (await markerNotes()).find((n) => n.authorId === me.id);
        if (!found) return undefined;
        if (found.body !== body) await edit(found);
        return { action: "created", id: found.id };
      },
    );
    return value;
  };

  const notes = await markerNotes();
  const mine = notes.find((n) => n.authorId === me.id);
  const note = mine ?? notes[0];
  if (!note) return create();
  if (note.body === body) return { action: "unchanged", id: note.id };
  try {
    await edit(note);
  } catch (e) {
    if (mine || (e as GitlabApiError).status !== 403) throw e;
    const created = await create();
    options.log?.(
      `The note ${note.id} on !${iid} with this marker was written by @${note.author ?? "another user"}, and ` +
        `GitLab does not let @${me.username} (the token's user) edit it: wrote note ${created.id} instead.`,
    );
    return created;
  }
  return { action: "updated", id: note.id };
}
