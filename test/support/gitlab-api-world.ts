/**
 * The world of the GitLab API module's tests (test/gitlab-api-*.test.ts): a fresh fake GitLab for each
 * test, and clients with fast retries whose waits are recorded in `sleeps` instead of slept.
 */
import { gitlabClient } from "../../infra/gitlab/client";
import { resolveConnection } from "../../infra/gitlab/connection";
import { gitlabWorld, type GitlabWorld } from "./gitlab-world";

export const FAST = {
  maxAttempts: 4,
  maxWaitMs: 60_000,
  baseDelayMs: 100,
  maxDelayMs: 30_000,
  attemptTimeoutMs: 5_000,
};

export interface ApiWorld {
  w: GitlabWorld;
  /** The waits between attempts of this test's clients, in ms. */
  sleeps: number[];
  /** A client with `token` as GITLAB_TOKEN (and `env`), retrying fast without sleeping. */
  api: (token?: string, env?: Record<string, string>) => ReturnType<typeof gitlabClient>;
}

/** Registers the hooks (a fresh fake GitLab before each test, closed after it); fields are set in them. */
export function apiWorld(): ApiWorld {
  const t = { sleeps: [] as number[] } as ApiWorld;
  t.api = (token, env = {}) =>
    gitlabClient(resolveConnection({ url: t.w.fake.url }, {}), {
      env: token ? { GITLAB_TOKEN: token, ...env } : env,
      retry: FAST,
      sleep: async (ms) => {
        t.sleeps.push(ms);
      },
    });
  beforeEach(async () => {
    t.w = await gitlabWorld();
    t.sleeps = [];
  });
  afterEach(() => t.w.fake.close());
  return t;
}
