/**
 * Replacements under the faults of test/support/faults.ts. The runner is replaced when its generation
 * changes (here: another project), create before delete: the new runner is created, then the old one
 * deleted. The receptive URL configuration is replaced when the URL changes; GitLab allows one per
 * agent, so the create deletes the old configuration before it posts the new one, and Pulumi's delete of
 * the old one afterwards finds it gone. Each step faulted in turn; an outage past every attempt fails
 * the run (a failed delete leaves the old object pending delete, deleted first by the next run, as
 * Pulumi does). Then the re-run, counted on the fake (one runner, of the new generation; one URL
 * configuration, at the new URL), and destroy (none). The real dynamic providers run over HTTP.
 */
import assert from "node:assert/strict";
import { faultStack, faultStackChecks, type StackShape } from "./support/fault-stack";
import {
  assertFaultedRun,
  assertNoSecretIn,
  destroyOf,
  type Fault,
  FAULTS,
  faultWorld,
  type Match,
  type PendingDeletes,
  pulumiUpOf,
  RESENT_FAULTS,
  type State,
  OUTAGE,
  OUTAGE_MESSAGE,
} from "./support/faults";

describe("replacements through lost and ambiguous answers: faulted run, re-run, destroy", () => {
  const fw = faultWorld();
  const { assertConverged, assertDestroyed, stackRunners } = faultStackChecks(fw);

  const pulumiUp = (s: Record<string, State>, pending: PendingDeletes, shape: StackShape = {}) =>
    pulumiUpOf(faultStack(fw, s, shape), s, fw.output, pending);

  /** [object, the shape that replaces it, the URL the converged stack has] */
  const REPLACED: [string, StackShape, string | undefined][] = [
    ["runner (another project)", { runnerProject: "platform/apps" }, undefined],
    [
      "receptive URL configuration (another URL)",
      { url: "grpcs://agent2.example.com:443" },
      "grpcs://agent2.example.com:443",
    ],
  ];

  /** [object, step, its request, the faults, whether the object is created again rather than found] */
  const STEPS: [string, string, Match, (Fault | typeof OUTAGE)[], boolean][] = [
    [
      REPLACED[0][0],
      "creating the new runner",
      { method: "POST", pathPattern: /\/user\/runners$/ },
      [...FAULTS, OUTAGE],
      true,
    ],
    [
      REPLACED[0][0],
      "deleting the old runner",
      { method: "DELETE", pathPattern: /\/runners\/\d+$/ },
      [...RESENT_FAULTS, OUTAGE],
      false,
    ],
    [
      REPLACED[1][0],
      "deleting the old configuration (before the create: GitLab allows one)",
      { method: "DELETE", pathPattern: /url_configurations\/\d+$/ },
      [...RESENT_FAULTS, OUTAGE],
      false,
    ],
    [
      REPLACED[1][0],
      "creating the new configuration",
      { method: "POST", pathPattern: /url_configurations$/ },
      [...FAULTS, OUTAGE],
      false,
    ],
  ];

  for (const [object, step, match, faults, recreated] of STEPS) {
    const [, shape, url] = REPLACED.find(([o]) => o === object)!;
    describe(`${object}: ${step}`, () => {
      for (const fault of faults)
        it(fault.name, async () => {
          const s: Record<string, State> = {};
          const pending: PendingDeletes = [];
          assert.equal(await pulumiUp(s, pending), undefined);
          assertConverged(s);
          const before = { runner: s.runner.id, receptiveUrl: s.receptiveUrl.id };

          fw.w.fake.clearRequests();
          fault.inject(fw.w.fake, match);
          const failed = await pulumiUp(s, pending, shape);
          if (fault === OUTAGE) {
            assert.match(String(failed?.message), OUTAGE_MESSAGE);
            assert.equal(fw.w.fake.pendingFaults(), 0, "the fault was hit");
          } else if (match.method === "POST") assertFaultedRun(fw.w.fake, failed, fault, recreated, match);
          else {
            assert.equal(failed, undefined, String(failed?.message));
            assert.equal(fw.w.fake.pendingFaults(), 0, "the fault was hit");
          }

          assert.equal(await pulumiUp(s, pending, shape), undefined, "the re-run converges");
          assert.deepEqual(pending, [], "nothing left pending delete");
          assertConverged(s, url);
          const key = object.startsWith("runner") ? "runner" : "receptiveUrl";
          assert.notEqual(s[key].id, before[key], "replaced");
          if (key === "runner")
            assert.deepEqual(
              stackRunners().map((r) => r.projectIds),
              [[fw.w.appsId]],
              "the runner of the new project",
            );
          fw.w.fake.clearRequests();
          assert.equal(await pulumiUp(s, pending, shape), undefined);
          assert.deepEqual(fw.w.fake.mutatingRequests(), [], "the run after writes nothing");
          await destroyOf(faultStack(fw, s, shape), s, pending);
          assertDestroyed();
          assertNoSecretIn(fw.w, fw.output, [s.token?.outs.token, s.runner?.outs.token]);
        });
    });
  }
});
