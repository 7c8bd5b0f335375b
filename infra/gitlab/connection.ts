/**
 * Where the GitLab API is and which token calls it. Pure (no gitbeaker import), so the offline CLI can
 * explain a missing token without paying for the client.
 *
 * The token is read from the environment at the moment of each request and is never a Pulumi input: it
 * must not end up in state, in a serialized dynamic provider, or in a log. `pulumi destroy` runs without
 * the program, so a token kept in stack config would not be there when it is needed; the environment is.
 */

export {
  DEFAULT_GITLAB_URL,
  DEFAULT_TOKEN_VARIABLE,
  resolveConnection,
  type GitlabConnection,
} from "../core/gitlabUrl";
import type { GitlabConnection } from "../core/gitlabUrl";

export class GitlabTokenError extends Error {
  constructor(message: string) {
    super(message);
    // Set again: in a serialized dynamic provider this class becomes a function calling Error.call(this),
    // which does not set `message` on `this`.
    this.message = message;
    this.name = "GitlabTokenError";
  }
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
