/**
 * The faults the GitLab fault tests drive every object through (the fake's fault layer, see
 * test/support/fake-gitlab/faults.ts), and the world they run in: the fake GitLab, GITLAB_TOKEN set to its
 * maintainer's token, and the attempt timeout short enough for a stall to end in a test's time.
 */
import assert from "node:assert/strict";
import { TIMEOUT_VARIABLE } from "../../infra/gitlab/requester";
import type { FakeGitlab } from "./fake-gitlab";
import { gitlabWorld, GitlabWorld } from "./gitlab-world";

export type Match = { method: string; pathPattern: RegExp };

/**
 * The faults, each on one request, or twice in a row. Twice in a row fails the run only where the object
 * must be created again because its token cannot be recovered (agent token, runner); elsewhere the
 * same-run lookup finds the object after the first, and the second is never met (no second POST).
 */
export const FAULTS: { name: string; inject: (f: FakeGitlab, m: Match) => void; failsTheRun?: true }[] = [
  { name: "answer lost after applying", inject: (f, m) => f.loseAnswer(m) },
  { name: "502 after applying", inject: (f, m) => f.failAfterApplying({ ...m, status: 502 }) },
  { name: "504 after applying", inject: (f, m) => f.failAfterApplying({ ...m, status: 504 }) },
  { name: "500 after applying", inject: (f, m) => f.failAfterApplying({ ...m, status: 500 }) },
  { name: "500 before applying", inject: (f, m) => f.failNext({ ...m, status: 500 }) },
  {
    name: "429 storm",
    inject: (f, m) => f.failNext({ ...m, status: 429, retryAfterSeconds: 0, times: 3 }),
  },
  {
    name: "503 with Retry-After",
    inject: (f, m) => f.failNext({ ...m, status: 503, retryAfterSeconds: 0 }),
  },
  // No answer until the client's attempt timeout (GITLAB_EKS_GITLAB_TIMEOUT_MS, set by faultedGitlab) closes the
  // connection; the fake lets go of the request then, or when the test closes it.
  { name: "stall past the client's timeout, after applying", inject: (f, m) => f.stall(m) },
  {
    name: "stall past the client's timeout, before applying",
    inject: (f, m) => f.stall({ ...m, apply: false }),
  },
  {
    name: "stall after applying twice",
    inject: (f, m) => f.stall({ ...m, times: 2 }),
    failsTheRun: true,
  },
  {
    name: "answer lost twice",
    inject: (f, m) => f.loseAnswer({ ...m, times: 2 }),
    failsTheRun: true,
  },
  {
    name: "502 after applying twice",
    inject: (f, m) => f.failAfterApplying({ ...m, status: 502, times: 2 }),
    failsTheRun: true,
  },
];

/**
 * The attempt timeout of every client in these tests, through the variable the providers read. It ends a
 * stalled request; a request the fake answers never comes near it, even on a loaded machine, and one
 * that did would be retried (GET, PUT, DELETE) or looked up (POST), as the faults are.
 */
export const TIMEOUT_MS = "2000";

export type Fault = (typeof FAULTS)[number];

/** The faults met by requests that are resent (DELETE, PUT): after applying, and a 429 storm. */
export const RESENT_FAULTS = FAULTS.filter((f) =>
  [
    "answer lost after applying",
    "504 after applying",
    "429 storm",
    "stall past the client's timeout, after applying",
  ].includes(f.name),
);

/** Registers the hooks of a fault test: a fresh fake GitLab per test, closed (releasing any stall) after it. */
export function faultedGitlab(): { readonly w: GitlabWorld; output: string[] } {
  const ctx = { w: undefined as unknown as GitlabWorld, output: [] as string[] };
  let saved: string | undefined;
  let savedTimeout: string | undefined;
  beforeEach(async () => {
    ctx.w = await gitlabWorld();
    ctx.w.fake.state.instance.receptiveAgentsEnabled = true;
    saved = process.env.GITLAB_TOKEN;
    savedTimeout = process.env[TIMEOUT_VARIABLE];
    process.env.GITLAB_TOKEN = ctx.w.maintainerToken;
    process.env[TIMEOUT_VARIABLE] = TIMEOUT_MS;
    ctx.output.length = 0;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = saved;
    if (savedTimeout === undefined) delete process.env[TIMEOUT_VARIABLE];
    else process.env[TIMEOUT_VARIABLE] = savedTimeout;
    await ctx.w.fake.close();
  });
  return ctx;
}

/** The faulted run's outcome: failed only for a double fault on an object that is created again. */
export function assertFaultedRun(
  fake: FakeGitlab,
  failed: Error | undefined,
  fault: Fault,
  recreated: boolean,
  m: Match,
): void {
  if (fault.failsTheRun && recreated) assert.match(String(failed?.message), /Not resent/);
  else assert.equal(failed, undefined, String(failed?.message));
  if (fault.failsTheRun && !recreated) {
    assert.equal(fake.pendingFaults(), 1, "found after the first fault: no second POST");
    assert.equal(fake.countRequests(m), 1);
    fake.clearFaults();
  }
  assert.equal(fake.pendingFaults(), 0, "the fault was hit");
}

/** No token value, and nothing shaped like a token, in what the run printed or sent. */
export function assertNoSecretIn(
  w: GitlabWorld,
  output: string[],
  secrets: (string | undefined)[] = [],
): void {
  const text = [...output, JSON.stringify(w.fake.requests)].join("\n");
  for (const secret of [w.maintainerToken, ...secrets].filter(Boolean))
    assert.ok(!text.includes(secret as string), "a token value in the output");
  assert.ok(!/glpat-|glagent-|glrt-/.test(text), "a token-shaped value in the output");
}
