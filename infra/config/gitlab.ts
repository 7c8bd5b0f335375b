/**
 * Config for the GitLab side: `gitlab-eks:gitlab` (where GitLab is, which env var holds the token, the
 * agent project), and the URL and project-path rules the other sections use too. The agent's section is
 * infra/config/agent.ts.
 */
import * as v from "valibot";
import { pattern, section } from "./kit";

/**
 * URLs: a host name or address, an optional port and a path of URL characters; userinfo only where a
 * proxy may need it. No spaces, quotes, braces or `{{` (values reach Helm charts that may run them through
 * `tpl`).
 */
const HOST_PORT = "[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\\d{1,5})?";
const URL_PATH = "(\\/[A-Za-z0-9._~%!$&'()*+,;=:@\\/-]*)?";
const url = (schemes: string, userinfo = false) =>
  new RegExp(
    `^(${schemes}):\\/\\/${userinfo ? "([A-Za-z0-9._~%!$&'()*+,;=:-]+@)?" : ""}${HOST_PORT}${URL_PATH}$`,
  );
const HTTP_URL = url("https?");
export const PROXY_URL = url("https?", true);
export const KAS_URL = url("grpcs?|wss?");
/**
 * A project or group: a numeric id, or a full path (`group/sub/project`) whose segments follow GitLab's
 * path rule (letters, digits, '_', '-', '.'; starting with a letter, digit or '_', not ending in '.',
 * `.git` or `.atom`). So `.` and `..`, which would change the API path they are put into, are refused.
 */
const PATH_SEGMENT = "[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?";
export const PROJECT_REF = new RegExp(
  `^([1-9]\\d{0,18}|(?!.*\\.(git|atom)(\\/|$))${PATH_SEGMENT}(\\/${PATH_SEGMENT}){0,20})$`,
);
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const gitlabSchema = section({
  url: v.optional(pattern("the https URL of the GitLab instance", HTTP_URL, "https://gitlab.example.com")),
  tokenVariable: v.optional(pattern("an environment variable name", ENV_VAR, "GITLAB_TOKEN"), "GITLAB_TOKEN"),
  agentProject: v.optional(
    pattern(
      "a project path such as group/clusters, or a project id",
      PROJECT_REF,
      "group/clusters",
      255 * 21,
    ),
  ),
});

export interface GitlabConfig {
  /** Configured URL; when absent, CI_SERVER_URL or https://gitlab.com at run time. */
  url?: string;
  tokenVariable: string;
}

export type GitlabRaw = v.InferOutput<typeof gitlabSchema>;

export function checkGitlab(g: Partial<GitlabRaw>): GitlabConfig {
  return { url: g.url?.replace(/\/+$/, ""), tokenVariable: g.tokenVariable ?? "GITLAB_TOKEN" };
}
