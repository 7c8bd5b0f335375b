/**
 * The faults the GitLab fault tests drive every object through (the fake's fault layer, see
 * test/support/fake-gitlab/faults.ts), the world they run in (the fake GitLab, GITLAB_TOKEN set to its
 * maintainer's token, the attempt timeout short enough for a stall to end in a test's time), a stack's
 * `pulumi up` and `pulumi destroy` over the real dynamic providers, and the agent's objects.
 */
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  agentTokenRetirementProvider,
  clusterAgentProvider,
} from "../../infra/cloud/gitlab/agentResources";
import { DEFAULT_RETRY, TIMEOUT_VARIABLE } from "../../infra/gitlab/requester";
import type { FakeGitlab } from "./fake-gitlab";
import { gitlabWorld, type GitlabWorld } from "./gitlab-world";

type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type State = { id: string; outs: Props };

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
  // No answer until the client's attempt timeout (GITLAB_EKS_GITLAB_TIMEOUT_MS, set by faultWorld) closes the
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

/**
 * A 429 storm past every attempt the requester makes (DEFAULT_RETRY.maxAttempts, no wait: Retry-After 0):
 * the request is never carried out and the run fails there, as on an outage; the next run finishes.
 */
export const OUTAGE = {
  name: "429 storm past every attempt (the run fails)",
  inject: (f: FakeGitlab, m: Match) =>
    f.failNext({ ...m, status: 429, retryAfterSeconds: 0, times: DEFAULT_RETRY.maxAttempts }),
  failsTheRun: true as const,
};

/** What the run that meets OUTAGE fails with. */
export const OUTAGE_MESSAGE = new RegExp(`429 Too Many Requests .*\\(${DEFAULT_RETRY.maxAttempts} times\\)`);

/**
 * The faults met by the lookup (a GET) that follows an ambiguous POST. A GET is resent, so each of them
 * is ridden out in the run, but the last: a 429 storm past every attempt, after which the run fails with
 * the object's state unknown, and the next run's lookup finds it.
 */
export const LOOKUP_FAULTS: {
  name: string;
  inject: (f: FakeGitlab, m: Match) => void;
  failsTheRun?: true;
}[] = [
  ...FAULTS.filter((f) =>
    [
      "answer lost after applying",
      "502 after applying",
      "504 after applying",
      "500 before applying",
      "429 storm",
      "503 with Retry-After",
      "stall past the client's timeout, after applying",
      "answer lost twice",
    ].includes(f.name),
  ).map(({ name, inject }) => ({ name, inject })), // a GET met twice is resent twice: the run goes on
  OUTAGE,
];

/**
 * The POST matching `post` is carried out and answered 502 by the proxy (its outcome unknown); the
 * next request matching `lookup` (the same run's lookup, none before it) meets `fault`.
 */
export function faultTheLookup(f: FakeGitlab, post: Match, lookup: Match, fault: Fault): void {
  f.failAfterApplying({ ...post, status: 502, onHit: () => fault.inject(f, lookup) });
}

/** What `pulumi up` does for one resource (check, then create, or diff and update/replace). */
export async function up(
  p: pulumi.dynamic.ResourceProvider,
  state: State | undefined,
  inputs: Props,
  /** Takes the object a replacement leaves to delete; without it, no object may be replaced. */
  replaced?: (old: State) => void,
): Promise<State> {
  const c = await p.check?.(state?.outs ?? {}, inputs);
  if (c?.failures?.length) throw new Error(c.failures.map((f) => f.reason).join("; "));
  if (!state) {
    const r = await p.create(inputs);
    return { id: r.id, outs: r.outs as Props };
  }
  const d = await p.diff!(state.id, state.outs, inputs);
  if (!d.changes) return state;
  if (d.replaces?.length && replaced) {
    // Create before delete (Pulumi's default): the new object first; a failed create keeps the old one.
    assert.notEqual(d.deleteBeforeReplace, true);
    const r = await p.create(inputs);
    replaced(state);
    return { id: r.id, outs: r.outs as Props };
  }
  assert.deepEqual(d.replaces, [], "no object is replaced in these runs");
  const u = await p.update!(state.id, state.outs, inputs);
  return { id: state.id, outs: u.outs as Props };
}

/** A stack's GitLab objects in the program's order: [name in state, provider, its inputs now]. */
export type StackObjects = [string, pulumi.dynamic.ResourceProvider, () => Props][];

/**
 * The replaced objects not deleted yet, in the order they were replaced. Pulumi keeps such an object in
 * state (pending delete) when its delete fails, deletes it first on the next `pulumi up`, and deletes
 * it on `pulumi destroy`.
 */
export type PendingDeletes = [string, pulumi.dynamic.ResourceProvider, State][];

async function deletePending(pending: PendingDeletes): Promise<void> {
  while (pending.length) {
    const [, provider, old] = pending[0];
    await provider.delete!(old.id, old.outs);
    pending.shift();
  }
}

/**
 * One `pulumi up`: stops at the first failure (its message goes to `output`), keeping what succeeded.
 * With `pending`, objects may be replaced: what an earlier run left pending delete is deleted first, the
 * replaced objects after every create and update.
 */
export async function pulumiUpOf(
  objects: StackObjects,
  s: Record<string, State>,
  output: string[],
  pending?: PendingDeletes,
): Promise<Error | undefined> {
  try {
    if (pending) await deletePending(pending);
    for (const [name, provider, inputs] of objects)
      s[name] = await up(
        provider,
        s[name],
        inputs(),
        pending && ((old) => pending.push([name, provider, old])),
      );
    if (pending) await deletePending(pending);
  } catch (e) {
    output.push((e as Error).message);
    return e as Error;
  }
  return undefined;
}

/**
 * `pulumi destroy`: every object in state, in the reverse order, then those pending delete. With
 * `forget`, each object deleted leaves `s` as it leaves Pulumi's state, so that a destroy that fails
 * part way leaves the state a re-run starts from.
 */
export async function destroyOf(
  objects: StackObjects,
  s: Record<string, State>,
  pending: PendingDeletes = [],
  forget = false,
): Promise<void> {
  for (const [name, provider] of [...objects].reverse())
    if (s[name]) {
      await provider.delete!(s[name].id, s[name].outs);
      if (forget) delete s[name];
    }
  await deletePending(pending);
}

export interface FaultWorld {
  w: GitlabWorld;
  target: { url: string; tokenVariable: string };
  /** Everything the runs said (failure messages): checked for token values. */
  output: string[];
}

/**
 * Registers the hooks of a fault suite: a fresh fake GitLab for each test (receptive agents enabled),
 * GITLAB_TOKEN set to its maintainer's token and the attempt timeout to TIMEOUT_MS for the providers (as
 * the provider process reads them), restored afterwards; the fake is closed (releasing any stall).
 */
export function faultWorld(): FaultWorld {
  const fw = { output: [] } as unknown as FaultWorld;
  let saved: string | undefined;
  let savedTimeout: string | undefined;
  beforeEach(async () => {
    fw.w = await gitlabWorld();
    fw.w.fake.state.instance.receptiveAgentsEnabled = true;
    fw.target = { url: fw.w.fake.url, tokenVariable: "GITLAB_TOKEN" };
    saved = process.env.GITLAB_TOKEN;
    savedTimeout = process.env[TIMEOUT_VARIABLE];
    process.env.GITLAB_TOKEN = fw.w.maintainerToken;
    process.env[TIMEOUT_VARIABLE] = TIMEOUT_MS;
    fw.output = [];
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = saved;
    if (savedTimeout === undefined) delete process.env[TIMEOUT_VARIABLE];
    else process.env[TIMEOUT_VARIABLE] = savedTimeout;
    await fw.w.fake.close();
  });
  return fw;
}

export const FAULT_OWNER = "platform-clusters/production";
export const FAULT_PROJECT = "platform/clusters";

/**
 * The agent's objects the stack fault suites run (agent "prod", its token, the "production" environment
 * with `environment` added to its inputs, and the token retirement), keyed by their name in state.
 */
export function agentObjects(
  fw: Pick<FaultWorld, "target">,
  s: Record<string, State>,
  rotation: string,
  environment: Props = {},
): Record<"agent" | "token" | "environment" | "retirement", StackObjects[number]> {
  const base = () => ({ target: fw.target, project: FAULT_PROJECT, owner: FAULT_OWNER });
  return {
    agent: [
      "agent",
      clusterAgentProvider,
      () => ({ ...base(), name: "prod", retainOnDelete: false, adopt: false }),
    ],
    token: [
      "token",
      agentTokenProvider,
      () => ({
        ...base(),
        agentId: s.agent.outs.agentId,
        name: `gitlab-eks-production-${rotation}`,
        description: "gitlab-eks: cluster prod",
      }),
    ],
    environment: [
      "environment",
      agentEnvironmentProvider,
      () => ({
        ...base(),
        name: "production",
        tier: "production",
        clusterAgentId: s.agent.outs.agentId,
        kubernetesNamespace: "apps",
        retainOnDelete: false,
        ...environment,
      }),
    ],
    retirement: [
      "retirement",
      agentTokenRetirementProvider,
      () => ({
        ...base(),
        agentId: s.agent.outs.agentId,
        keepTokenId: s.token.outs.tokenId,
        replacedTokenIds: s.token.outs.replacedTokenIds,
      }),
    ],
  };
}

/**
 * The faulted run's outcome: failed ("Not resent") only for a double fault on an object that is created
 * again because its value cannot be recovered; any other object is found after the first fault, so the
 * second is never met (no second POST).
 */
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

/**
 * No token value (the maintainer's, and `secrets`), and nothing shaped like a token, in what the run
 * printed, sent, or committed into Git.
 */
export function assertNoSecretIn(
  w: GitlabWorld,
  output: string[],
  secrets: (string | undefined)[] = [],
): void {
  const committed = w.fake.state.commits.map((c) => JSON.stringify(c));
  const text = [...output, JSON.stringify(w.fake.requests), ...committed].join("\n");
  for (const secret of [w.maintainerToken, ...secrets].filter(Boolean))
    assert.ok(!text.includes(secret as string), "a token value in the output or in Git");
  assert.ok(!/glpat-|glagent-|glrt-|gldt-/.test(text), "a token-shaped value in the output or in Git");
}
