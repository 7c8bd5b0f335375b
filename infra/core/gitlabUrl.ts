/**
 * Where the GitLab API is: the configured URL, else CI_SERVER_URL (inside GitLab CI), else gitlab.com.
 * Pure, shared by the model (rendered runner config) and the GitLab client.
 */

export const DEFAULT_GITLAB_URL = "https://gitlab.com";
export const DEFAULT_TOKEN_VARIABLE = "GITLAB_TOKEN";

export interface GitlabConnection {
  /** Base URL of the instance, without a trailing slash and without /api/v4. */
  url: string;
  /** Name of the environment variable holding the token (e.g. GITLAB_TOKEN). */
  tokenVariable: string;
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
