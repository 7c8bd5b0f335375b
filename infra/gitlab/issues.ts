/**
 * Issues (GitLab API: /projects/:id/issues). One open issue per marker, found again by the marker at the
 * start of its description (and a label, to keep the search small) and edited rather than opened twice.
 * Needs a token with the api scope whose user is at least Reporter on the project.
 */
import type { GitlabApi } from "./client";
import { call } from "./errors";

export interface IssueSpec {
  project: string | number;
  marker: string;
  title: string;
  description: string;
  labels: string[];
  tokenVariable?: string;
}

export type IssueResult = { action: "created" | "updated" | "unchanged"; iid: number; webUrl?: string };

export async function upsertIssue(api: GitlabApi, spec: IssueSpec): Promise<IssueResult> {
  const { project, marker, title, description, tokenVariable } = spec;
  const ctx = {
    scope: "api",
    role: `Reporter (or higher) on ${project}`,
    target: `project ${project}`,
    tokenVariable,
  };
  const labels = spec.labels.join(",");
  const open = await call({ ...ctx, action: `look for the open issue labelled ${labels}` }, () =>
    api.Issues.all({ projectId: project, state: "opened", labels, perPage: 100 }),
  );
  const existing = open.find((i) => typeof i.description === "string" && i.description.startsWith(marker));
  if (!existing) {
    const created = await call({ ...ctx, action: `open an issue "${title}"` }, () =>
      api.Issues.create(project, title, { description, labels }),
    );
    return { action: "created", iid: created.iid, webUrl: created.web_url };
  }
  if (existing.title === title && existing.description === description)
    return { action: "unchanged", iid: existing.iid, webUrl: existing.web_url as string | undefined };
  await call({ ...ctx, action: `update issue #${existing.iid}` }, () =>
    api.Issues.edit(project, existing.iid, { title, description }),
  );
  return { action: "updated", iid: existing.iid, webUrl: existing.web_url as string | undefined };
}
