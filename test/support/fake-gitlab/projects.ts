import { ok } from "./http";
import type { Core } from "./core";

/** Projects and groups (lib/api/projects.rb, groups.rb). */
export function registerProjects(core: Core): void {
  const { userProject, userGroup, route, projectEntity, groupEntity } = core;
  // --- projects and groups ------------------------------------------------------------------
  route("GET", "/projects/:id", (ctx) => ok(projectEntity(userProject(ctx), ctx.auth!)));
  route("GET", "/groups/:id", (ctx) => ok(groupEntity(userGroup(ctx))));
}
