/**
 * What must hold on the GitLab side before the runner is created, checked before anything is created
 * (the same approach as the agent's preflight): the token is there, valid, may create runners
 * (create_runner or api) and delete them on destroy (manage_runner or api); an instance runner needs an
 * administrator; the project or group exists and, for a project, its user is at least Maintainer.
 */
import type { RunnerScope } from "../config/runnerTypes";
import type { GitlabConnection } from "./connection";
import { call } from "./errors";
import { namespaceId } from "./instance";
import { checkProjectRole, openWithToken, type Check } from "./preflight";
import type { RetryPolicy, Sleep } from "./requester";

export async function runnerPreflight(
  conn: GitlabConnection,
  scope: RunnerScope,
  env: Record<string, string | undefined> = process.env,
  retry?: RetryPolicy,
  sleep?: Sleep,
): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => (checks.push({ name, ok, detail }), ok);
  const opened = await openWithToken(conn, env, "Creating the GitLab runner", add, {
    retry,
    sleep,
    scope: "api",
  });
  if (!opened) return checks;
  const { api } = opened;
  const scopes = opened.self.scopes;
  const has = (s: string) => scopes.includes(s) || scopes.includes("api");
  add(
    "token scopes",
    has("create_runner") && has("manage_runner"),
    has("create_runner") && has("manage_runner")
      ? `scopes: ${scopes.join(", ")}`
      : `scopes: ${scopes.join(", ") || "none"}; creating a runner needs create_runner, and updating or deleting it ` +
          `(pulumi destroy) needs manage_runner (api covers both). Set ${conn.tokenVariable} to such a token`,
  );
  const canRead = scopes.includes("api") || scopes.includes("read_api");

  try {
    if (scope.runnerType === "instance_type") {
      const user = (await call(
        { action: "read the token's user (GET /user)", scope: "read_user or api" },
        () => api.Users.showCurrentUser(),
      )) as unknown as { username?: string; is_admin?: boolean };
      add(
        "role",
        user.is_admin === true,
        user.is_admin
          ? `${user.username} is an administrator`
          : `${user.username} is not an administrator; only administrators can create instance_type runners. ` +
              `Use an administrator's token, or make it a group or project runner (gitlab-eks:runner.group or gitlab-eks:runner.project)`,
      );
    } else if (scope.runnerType === "project_type") {
      if (!canRead)
        add("role", true, `not checked (the token cannot read projects); GitLab checks it on create`);
      else {
        await checkProjectRole(
          api,
          scope.project,
          "role",
          "creating a project runner needs Maintainer or Owner",
          add,
        );
      }
    } else if (!/^\d+$/.test(scope.group)) {
      if (!canRead)
        add(
          "group",
          false,
          `cannot look up group ${scope.group}: the token cannot read groups (read_api or api). Give its numeric id in gitlab-eks:runner.group, or use a token with read_api`,
        );
      else {
        const id = await namespaceId(api, "group", scope.group);
        add(
          "group",
          true,
          `${scope.group} (id ${id}); creating a group runner needs Owner, which GitLab checks on create`,
        );
      }
    }
  } catch (e) {
    // The check that was running: the group lookup, or the role on the project or instance.
    add(scope.runnerType === "group_type" ? "group" : "role", false, (e as Error).message);
  }
  return checks;
}
