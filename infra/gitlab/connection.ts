/**
 * Where the GitLab API is and which token calls it. Pure (no gitbeaker import), so the offline CLI can
 * explain a missing token without paying for the client.
 *
 * The token is read from the environment at the moment of each request and is never a Pulumi input: it
 * must not end up in state, in a serialized dynamic provider, or in a log. `pulumi destroy` runs without
 * the program, so a token kept in stack config would not be there when it is needed; the environment is.
 */

export const DEFAULT_GITLAB_URL = "https://gitlab.com";
export const DEFAULT_TOKEN_VARIABLE = "GITLAB_TOKEN";

export interface GitlabConnection {
  /** Base URL of the instance, without a trailing slash and without /api/v4. */
  url: string;
  /** Name of the environment variable holding the token (e.g. GITLAB_TOKEN). */
  tokenVariable: string;
}

export class GitlabTokenError extends Error {
  constructor(message: string) {
    super(message);
    // Set again: in a serialized dynamic provider this class becomes a function calling Error.call(this),
    // which does not set `message` on `this`.
    this.message = message;
    this.name = "GitlabTokenError";
  }
}

/** URL: configured, else CI_SERVER_URL (inside GitLab CI), else gitlab.com. */
export function resolveConnection(
  configured: { url?: string; tokenVariable?: string },
  env: Record<string, string | undefined>,
): GitlabConnection {
  const url = (configured.url ?? env.CI_SERVER_URL ?? DEFAULT_GITLAB_URL)
    .replace(/\/+$/, "")
    .replace(/\/api\/v4$/, "");
  return { url, tokenVariable: configured.tokenVariable ?? DEFAULT_TOKEN_VARIABLE };
}

/**
 * The API token, or an error that says what to set. A CI job token alone is refused with the reason:
 * the cluster agent, agent token, runner creation, MR note and MR creation APIs do not accept it.
 */
export function readToken(
  conn: GitlabConnection,
  env: Record<string, string | undefined>,
  purpose: string,
): string {
  const token = env[conn.tokenVariable]?.trim();
  if (token) return token;
  const why =
    `${purpose} needs a GitLab token in the ${conn.tokenVariable} environment variable: a personal, project or group ` +
    `access token with the api scope, whose user is Maintainer on the projects involved (a group runner needs ` +
    `Owner of its group, an instance runner an administrator).`;
  if (env.CI_JOB_TOKEN)
    throw new GitlabTokenError(
      `${why} Only CI_JOB_TOKEN is available, and GitLab does not accept job tokens for cluster agents, agent tokens, ` +
        `runner creation, merge request notes or merge requests. Store such a token as a masked, protected CI/CD ` +
        `variable named ${conn.tokenVariable}.`,
    );
  throw new GitlabTokenError(`${why} It is not set.`);
}
