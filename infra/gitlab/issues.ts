/**
 * Issues (GitLab API: /projects/:id/issues). One open issue per marker, found again by the marker at the
 * start of its description (and a label, to keep the search small) and edited rather than opened twice;
 * closed, with one comment, once what it reports is over. A create whose answer was lost is looked up in
 * the same run (the issue by label and marker, the comment by its text), never sent twice.
 * Needs a token with the api scope whose user is at least Reporter on the project.
 */
import type { GitlabApi } from "./client";
import { call, createOnce } from "./errors";

/**
 * How an issue of ours is found again: the marker its description starts with, and its labels. Several
 * markers: the current one first, then older forms that still name this stack (see upsertMergeRequestNote).
 */
export interface IssueLookup {
  project: string | number;
  marker: string | readonly string[];
  labels: string[];
  tokenVariable?: string;
}

export interface IssueSpec extends IssueLookup {
  title: string;
  description: string;
}

export type IssueResult = { action: "created" | "updated" | "unchanged"; iid: number; webUrl?: string };

export type CloseResult = { action: "closed"; iid: number; webUrl?: string } | { action: "none" };

function context(lookup: IssueLookup) {
  return {
    scope: "api",
    role: `Reporter (or higher) on ${lookup.project}`,
    target: `project ${lookup.project}`,
    tokenVariable: lookup.tokenVariable,
  };
}

/** The open issue whose description starts with the marker, if there is one. */
export async function findOpenIssue(api: GitlabApi, lookup: IssueLookup) {
  const labels = lookup.labels.join(",");
  const open = await call({ ...context(lookup), action: `look for the open issue labelled ${labels}` }, () =>
    api.Issues.all({ projectId: lookup.project, state: "opened", labels, perPage: 100 }),
  );
  const markers = typeof lookup.marker === "string" ? [lookup.marker] : lookup.marker;
  for (const m of markers) {
    const found = open.find((i) => typeof i.description === "string" && i.description.startsWith(m));
    if (found) return found;
  }
  return undefined;
}

export async function upsertIssue(api: GitlabApi, spec: IssueSpec): Promise<IssueResult> {
  const { project, title, description } = spec;
  const ctx = context(spec);
  const existing = await findOpenIssue(api, spec);
  if (!existing) {
    // A create whose answer was lost is found by its label and marker in the same run, never sent twice.
    const { value } = await createOnce<IssueResult>(
      async () => {
        const created = await call({ ...ctx, action: `open an issue "${title}"` }, () =>
          api.Issues.create(project, title, { description, labels: spec.labels.join(",") }),
        );
        return { action: "created", iid: created.iid, webUrl: created.web_url };
      },
      async () => {
        const found = await findOpenIssue(api, spec);
        return found && { action: "created", iid: found.iid, webUrl: found.web_url as string | undefined };
      },
    );
    return value;
  }
  if (existing.title === title && existing.description === description)
    return { action: "unchanged", iid: existing.iid, webUrl: existing.web_url as string | undefined };
  await call({ ...ctx, action: `update issue #${existing.iid}` }, () =>
    api.Issues.edit(project, existing.iid, { title, description }),
  );
  return { action: "updated", iid: existing.iid, webUrl: existing.web_url as string | undefined };
}

/**
 * Closes the open issue found by `lookup` and leaves `comment` on it; with no open issue, changes nothing.
 *
 * Close first, then comment: only open issues are found, so once the close went through no later run
 * finds this issue again, and the comment can never be posted twice. If the comment fails after the
 * close, the issue stays closed without it (the error says so); commenting first would instead post the
 * comment again on every re-run while closing keeps failing.
 */
export async function closeIssue(api: GitlabApi, lookup: IssueLookup, comment: string): Promise<CloseResult> {
  const { project } = lookup;
  const ctx = context(lookup);
  const existing = await findOpenIssue(api, lookup);
  if (!existing) return { action: "none" };
  const webUrl = existing.web_url as string | undefined;
  await call({ ...ctx, action: `close issue #${existing.iid}` }, () =>
    api.Issues.edit(project, existing.iid, { stateEvent: "close" }),
  );
  const action = `comment on issue #${existing.iid} (closed already)`;
  await createOnce(
    () => call({ ...ctx, action }, () => api.IssueNotes.create(project, existing.iid, comment)),
    async () => {
      const notes = await call({ ...ctx, action }, () =>
        api.IssueNotes.all(project, existing.iid, { sort: "desc", perPage: 100, maxPages: 1 }),
      );
      return notes.find((n) => !n.system && n.body === comment);
    },
  );
  return { action: "closed", iid: existing.iid, webUrl };
}
