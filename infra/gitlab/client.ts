/**
 * The one way this project reaches the GitLab API: gitbeaker (@gitbeaker/core, the classes @gitbeaker/rest
 * is built from) with our request handler (requester.ts) and a token read from the environment at the
 * moment of each request. Used by the Pulumi dynamic providers and by the CLI.
 */
import { Gitlab } from "@gitbeaker/core";
import { GitlabConnection, readToken } from "./connection";
import { createRequester, RequestEvent, retryPolicyFromEnv, RetryPolicy, Sleep } from "./requester";

export type GitlabApi = InstanceType<typeof Gitlab<false>>;

export interface ClientOptions {
  env?: Record<string, string | undefined>;
  /** What the calls are for, used in the message when no token is set. */
  purpose?: string;
  /** Default: DEFAULT_RETRY, its attempt timeout from GITLAB_EKS_GITLAB_TIMEOUT_MS in `env` when set. */
  retry?: RetryPolicy;
  onRequest?: (e: RequestEvent) => void;
  sleep?: Sleep;
}

export function gitlabClient(conn: GitlabConnection, options: ClientOptions = {}): GitlabApi {
  const env = options.env ?? process.env;
  const purpose = options.purpose ?? "Calling the GitLab API";
  const retry = options.retry ?? retryPolicyFromEnv(env);
  return new Gitlab({
    host: conn.url,
    token: async () => readToken(conn, env, purpose),
    requesterFn: createRequester(retry, options.onRequest, options.sleep),
  });
}
