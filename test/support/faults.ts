/** The faults the GitLab fault tests drive every object through (the fake's fault layer). */
import assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import {
  agentEnvironmentProvider,
  agentTokenProvider,
  agentTokenRetirementProvider,
  clusterAgentProvider,
} from "../../infra/cloud/gitlab/agentResources";
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

/** What `pulumi up` does for one resource (check, then create, or diff and update/replace). */
export async function up(
  p: pulumi.dynamic.ResourceProvider,
  state: State | undefined,
  inputs: Props,
): Promise<State> {
  const c = await p.check?.(state?.outs ?? {}, inputs);
  if (c?.failures?.length) throw new Error(c.failures.map((f) => f.reason).join("; "));
  if (!state) {
    const r = await p.create(inputs);
    return { id: r.id, outs: r.outs as Props };
  }
  const d = await p.diff!(state.id, state.outs, inputs);
  if (!d.changes) return state;
  assert.deepEqual(d.replaces, [], "no object is replaced in these runs");
  const u = await p.update!(state.id, state.outs, inputs);
  return { id: state.id, outs: u.outs as Props };
}

/** A stack's GitLab objects in the program's order: [name in state, provider, its inputs now]. */
export type StackObjects = [string, pulumi.dynamic.ResourceProvider, () => Props][];

/** One `pulumi up`: stops at the first failure (its message goes to `output`), keeping what succeeded. */
export async function pulumiUpOf(
  objects: StackObjects,
  s: Record<string, State>,
  output: string[],
): Promise<Error | undefined> {
  for (const [name, provider, inputs] of objects) {
    try {
      s[name] = await up(provider, s[name], inputs());
    } catch (e) {
      output.push((e as Error).message);
      return e as Error;
    }
  }
  return undefined;
}

/** `pulumi destroy`: every object in state, in the reverse order. */
export async function destroyOf(objects: StackObjects, s: Record<string, State>): Promise<void> {
  for (const [name, provider] of [...objects].reverse())
    if (s[name]) await provider.delete!(s[name].id, s[name].outs);
}

export interface FaultWorld {
  w: GitlabWorld;
  target: { url: string; tokenVariable: string };
  /** Everything the runs said (failure messages): checked for token values. */
  output: string[];
}

/**
 * Registers the hooks of a fault suite: a fresh fake GitLab for each test, GITLAB_TOKEN set to its
 * maintainer's token for the providers (as the provider process reads it), restored afterwards.
 */
export function faultWorld(setup: (w: GitlabWorld) => void = () => {}): FaultWorld {
  const fw = { output: [] } as unknown as FaultWorld;
  let saved: string | undefined;
  beforeEach(async () => {
    fw.w = await gitlabWorld();
    setup(fw.w);
    fw.target = { url: fw.w.fake.url, tokenVariable: "GITLAB_TOKEN" };
    saved = process.env.GITLAB_TOKEN;
    process.env.GITLAB_TOKEN = fw.w.maintainerToken;
    fw.output = [];
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.GITLAB_TOKEN;
    else process.env.GITLAB_TOKEN = saved;
    await fw.w.fake.close();
  });
  return fw;
}

export const FAULT_OWNER = "platform-clusters/production";
export const FAULT_PROJECT = "platform/clusters";

/**
 * The agent's objects both fault suites run (agent "prod", its token, the "production" environment with
 * `environment` added to its inputs, and the token retirement), keyed by their name in state.
 */
export function agentObjects(
  fw: FaultWorld,
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
  fault: (typeof FAULTS)[number],
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
