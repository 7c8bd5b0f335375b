/**
 * Every GitLab object the stack creates, driven through the faults real GitLab
 * installations produce (test/support/faults.ts): a connection closed after the request was applied, a
 * proxy answering 500/502/504 after the backend committed, a 500 before applying, a 429 storm, a 503 with
 * Retry-After, a stall past the client's timeout (before or after applying), and the same fault twice in a
 * row (the run fails). The same for each object's DELETE at destroy and PUT on an in-place change. Each
 * case: the faulted run, a re-run with the state the faulted run left, then destroy; counts asserted on
 * the fake after convergence and after destroy, and no token value in any output. The real dynamic providers and the real infra/gitlab module
 * run through gitbeaker over HTTP.
 */
import assert from "node:assert/strict";
import { faultStack, faultStackChecks } from "./support/fault-stack";
import {
  assertFaultedRun,
  assertNoSecretIn as assertNoSecretIn_,
  destroyOf,
  FAULTS,
  faultTheLookup,
  faultWorld,
  LOOKUP_FAULTS,
  type Match,
  pulumiUpOf,
  RESENT_FAULTS,
  type State,
  OUTAGE,
  OUTAGE_MESSAGE,
} from "./support/faults";
import type { GitlabWorld } from "./support/gitlab-world";

describe("GitLab objects through lost and ambiguous answers: faulted run, re-run, destroy", () => {
  const fw = faultWorld();
  let w: GitlabWorld;
  beforeEach(() => {
    w = fw.w;
  });

  const pulumiUp = (s: Record<string, State>, rotation?: string, changed?: boolean) =>
    pulumiUpOf(faultStack(fw, s, { rotation, changed }), s, fw.output);
  const destroy = (s: Record<string, State>) => destroyOf(faultStack(fw, s), s);
  const { agentTokens, assertConverged, assertDestroyed } = faultStackChecks(fw);

  const assertNoSecretIn = (s: Record<string, State>) =>
    assertNoSecretIn_(w, fw.output, [s.token?.outs.token, s.runner?.outs.token]);

  /** [object, its create, whether it is created again (token lost) rather than found after a lost answer] */
  const CREATES: [string, Match, boolean][] = [
    ["config file", { method: "POST", pathPattern: /repository\/files\// }, false],
    ["agent", { method: "POST", pathPattern: /cluster_agents$/ }, false],
    ["agent token", { method: "POST", pathPattern: /\/tokens$/ }, true],
    ["environment", { method: "POST", pathPattern: /environments$/ }, false],
    ["receptive URL configuration", { method: "POST", pathPattern: /url_configurations$/ }, false],
    ["runner", { method: "POST", pathPattern: /\/user\/runners$/ }, true],
  ];

  for (const [object, match, recreated] of CREATES)
    describe(`${object}: creating it`, () => {
      for (const fault of FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          fault.inject(w.fake, match);
          assertFaultedRun(w.fake, await pulumiUp(s), fault, recreated, match);
          assert.equal(await pulumiUp(s), undefined, "the re-run converges");
          assertConverged(s);
          assert.equal(await pulumiUp(s), undefined);
          assertConverged(s);
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  /**
   * The create answered 502 by the proxy after GitLab applied it, then the lookup that follows it (a GET
   * by natural key) faulted too: ridden out in the run (a GET is resent), or, past every attempt, the run
   * fails with the object unknown to state; the re-run finds it (or, token lost, deletes it and creates
   * another), and converges on exactly one; destroy leaves none.
   */
  const LOOKUPS: [string, Match, Match][] = [
    [
      "config file",
      { method: "POST", pathPattern: /repository\/files\// },
      { method: "GET", pathPattern: /repository\/files\// },
    ],
    [
      "agent",
      { method: "POST", pathPattern: /cluster_agents$/ },
      { method: "GET", pathPattern: /cluster_agents$/ },
    ],
    [
      "agent token",
      { method: "POST", pathPattern: /\/tokens$/ },
      { method: "GET", pathPattern: /\/tokens$/ },
    ],
    [
      "environment",
      { method: "POST", pathPattern: /environments$/ },
      { method: "GET", pathPattern: /environments$/ },
    ],
    [
      "receptive URL configuration",
      { method: "POST", pathPattern: /url_configurations$/ },
      { method: "GET", pathPattern: /url_configurations$/ },
    ],
    [
      "runner",
      { method: "POST", pathPattern: /\/user\/runners$/ },
      { method: "GET", pathPattern: /\/runners$/ },
    ],
  ];
  for (const [object, post, lookup] of LOOKUPS)
    describe(`${object}: the lookup after its create was answered 502`, () => {
      for (const fault of LOOKUP_FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          faultTheLookup(w.fake, post, lookup, fault);
          const failed = await pulumiUp(s);
          if (fault.failsTheRun) assert.match(String(failed?.message), OUTAGE_MESSAGE);
          else assert.equal(failed, undefined, String(failed?.message));
          assert.equal(w.fake.pendingFaults(), 0, "the create and its lookup were both faulted");
          assert.equal(await pulumiUp(s), undefined, "the re-run converges");
          assertConverged(s);
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  /**
   * `pulumi destroy` with each object's DELETE faulted: GET, PUT and DELETE are resent (a second DELETE
   * changes nothing, and a 404 then counts as done), so the same destroy removes everything.
   */
  const DELETES: [string, Match][] = [
    ["runner", { method: "DELETE", pathPattern: /\/runners\/\d+$/ }],
    ["receptive URL configuration", { method: "DELETE", pathPattern: /url_configurations\/\d+$/ }],
    ["environment", { method: "DELETE", pathPattern: /environments\/\d+$/ }],
    ["agent token", { method: "DELETE", pathPattern: /\/tokens\/\d+$/ }],
    ["agent", { method: "DELETE", pathPattern: /cluster_agents\/\d+$/ }],
    ["config file", { method: "DELETE", pathPattern: /repository\/files\// }],
  ];
  for (const [object, match] of DELETES)
    describe(`${object}: destroying it`, () => {
      for (const fault of RESENT_FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          assert.equal(await pulumiUp(s), undefined);
          assertConverged(s);
          fault.inject(w.fake, match);
          await destroy(s);
          assert.equal(w.fake.pendingFaults(), 0, "the fault was hit");
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  /**
   * `pulumi destroy` stops the environment (GitLab deletes only a stopped one), then deletes it. The stop
   * POST changes nothing when sent twice (GitLab answers 200 for a stopped environment), so it is resent
   * like a GET: every fault on it is ridden out. An outage past every attempt fails the destroy: on the
   * stop, the environment stays available; on the DELETE after it, it stays stopped, and a `pulumi up`
   * then leaves it so (nothing in its inputs changed; a deployment makes it available again). Either way
   * the next destroy stops (again) and deletes it, and nothing else of the stack is left.
   */
  describe("environment: stopping it at destroy", () => {
    const STOP: Match = { method: "POST", pathPattern: /environments\/\d+\/stop$/ };
    const DELETE: Match = { method: "DELETE", pathPattern: /environments\/\d+$/ };
    const env = () => w.fake.state.environments.map((e) => e.state);
    for (const fault of FAULTS)
      it(fault.name, async () => {
        const s: Record<string, State> = {};
        assert.equal(await pulumiUp(s), undefined);
        fault.inject(w.fake, STOP);
        await destroy(s);
        assert.equal(w.fake.pendingFaults(), 0, "the fault was hit");
        assertDestroyed();
        assertNoSecretIn(s);
      });
    for (const [step, match, left] of [
      ["the stop", STOP, "available"],
      ["the DELETE after the stop", DELETE, "stopped"],
    ] as const)
      it(`${OUTAGE.name}, on ${step}: the environment is left ${left}; re-run, then destroy`, async () => {
        const s: Record<string, State> = {};
        assert.equal(await pulumiUp(s), undefined);
        const secrets = [s.token.outs.token, s.runner.outs.token];
        OUTAGE.inject(w.fake, match);
        await assert.rejects(destroyOf(faultStack(fw, s), s, [], true), OUTAGE_MESSAGE);
        assert.deepEqual(env(), [left]);
        assert.ok(s.environment, "still in state");
        assert.equal(await pulumiUp(s), undefined, "the re-run (re-creating what the destroy deleted)");
        assertConverged(s);
        assert.deepEqual(env(), [left], "a pulumi up does not restart it");
        await destroy(s);
        assertDestroyed();
        assertNoSecretIn_(w, fw.output, [...secrets, s.token?.outs.token, s.runner?.outs.token]);
      });
  });

  /**
   * A `pulumi up` that changes objects in place (the config file's content, the environment's tier, the
   * runner's tags) with each object's PUT faulted: a PUT is resent (a second one changes nothing), so the
   * same run converges, on the same objects.
   */
  const UPDATES: [string, Match, () => void][] = [
    [
      "config file",
      { method: "PUT", pathPattern: /repository\/files\// },
      () =>
        assert.match(
          String(w.fake.readFile(w.clustersId, "main", ".gitlab/agents/prod/config.yaml")),
          /user_access/,
        ),
    ],
    [
      "environment",
      { method: "PUT", pathPattern: /environments\/\d+$/ },
      () => assert.equal(w.fake.state.environments[0].tier, "staging"),
    ],
    [
      "runner",
      { method: "PUT", pathPattern: /\/runners\/\d+$/ },
      () => assert.deepEqual([...w.fake.state.runners[0].tagList].sort(), ["eks", "large"]),
    ],
  ];
  for (const [object, match, assertChanged] of UPDATES)
    describe(`${object}: changing it in place`, () => {
      for (const fault of RESENT_FAULTS)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          assert.equal(await pulumiUp(s), undefined);
          const ids = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.id]));
          fault.inject(w.fake, match);
          assert.equal(await pulumiUp(s, undefined, true), undefined, "the faulted run converges");
          assert.equal(w.fake.pendingFaults(), 0, "the fault was hit");
          assertChanged();
          assertConverged(s);
          assert.deepEqual(
            Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.id])),
            ids,
            "the same objects",
          );
          assert.equal(await pulumiUp(s, undefined, true), undefined);
          assertConverged(s);
          await destroy(s);
          assertDestroyed();
          assertNoSecretIn(s);
        });
    });

  describe("agent token: rotating it", () => {
    for (const fault of FAULTS)
      it(fault.name, async () => {
        const s: Record<string, State> = {};
        assert.equal(await pulumiUp(s), undefined);
        const inUse = s.token.outs.tokenId;
        fault.inject(w.fake, { method: "POST", pathPattern: /\/tokens$/ });
        const failed = await pulumiUp(s, "2026-11");
        if (fault.failsTheRun) {
          assert.match(String(failed?.message), /Not resent/);
          assert.equal(s.token.outs.tokenId, inUse, "state still holds the token in use");
          assert.ok(
            agentTokens().some((t) => t.id === inUse),
            "the token the cluster runs on was not revoked",
          );
          assert.ok(agentTokens().length <= 2);
        } else assert.equal(failed, undefined, String(failed?.message));
        assert.equal(await pulumiUp(s, "2026-11"), undefined, "the re-run converges");
        assert.notEqual(s.token.outs.tokenId, inUse);
        assertConverged(s);
        await destroy(s);
        assertDestroyed();
        assertNoSecretIn(s);
      });
  });
});
