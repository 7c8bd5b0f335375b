/** Validation of `gitlab-eks:runner`: defaults, every refusal with its key and fix, all at once. */
import assert from "node:assert/strict";
import { configOf, minimal, problemsOf } from "./support/config";

const runner = (r: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  minimal({ "gitlab-eks:runner": r, ...extra });

function expectOnly(values: Record<string, unknown>, key: string, ...patterns: RegExp[]) {
  const problems = problemsOf(values);
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join("\n")}`);
  assert.ok(problems[0].startsWith(`${key}: `), problems[0]);
  for (const p of patterns) assert.match(problems[0], p);
  assert.match(problems[0], /Fix: /);
}

describe("gitlab-eks:runner config", () => {
  it("is optional: no section, no runner", () => {
    assert.equal(configOf(minimal()).runner, undefined);
  });

  it("fills in defaults and infers the runner type from group or project", () => {
    const g = configOf(runner({ group: "platform" })).runner!;
    assert.deepEqual(g.scope, { runnerType: "group_type", group: "platform" });
    assert.equal(g.managerPlacement, "runner-pool");
    assert.equal(g.privileged, false);
    assert.equal(g.namespace, "gitlab-runner");
    assert.equal(g.chartVersion, "0.86.0");
    assert.deepEqual(g.cache, { enabled: false, expirationDays: 14 });
    assert.equal(g.jobServiceAccountToken, false);
    assert.deepEqual(configOf(runner({ project: "platform/ci" })).runner!.scope, {
      runnerType: "project_type",
      project: "platform/ci",
    });
    assert.deepEqual(configOf(runner({ runnerType: "instance_type" })).runner!.scope, {
      runnerType: "instance_type",
    });
  });

  it("accepts numbers and booleans given as strings, and enabled: false turns the runner off", () => {
    const r = configOf(runner({ group: "12", concurrent: "4", privileged: "true" })).runner!;
    assert.equal(r.concurrent, 4);
    assert.equal(r.privileged, true);
    assert.equal(configOf(runner({ group: "platform", enabled: false })).runner, undefined);
  });

  it("refuses a project or group runner without its project or group", () => {
    expectOnly(runner({}), "gitlab-eks:runner.runnerType", /neither is runner.project or runner.group/);
    expectOnly(runner({ runnerType: "project_type" }), "gitlab-eks:runner.project", /needs the project/);
    expectOnly(runner({ runnerType: "group_type" }), "gitlab-eks:runner.group", /needs the group/);
    expectOnly(runner({ project: "a/b", group: "a" }), "gitlab-eks:runner.group", /one project or one group/);
    expectOnly(
      runner({ runnerType: "instance_type", group: "a" }),
      "gitlab-eks:runner.group",
      /instance_type/,
    );
  });

  it("refuses tags GitLab would reject or change", () => {
    expectOnly(runner({ group: "g", tags: ["a,b"] }), "gitlab-eks:runner.tags[0]", /comma/);
    expectOnly(runner({ group: "g", tags: ["ok", " x"] }), "gitlab-eks:runner.tags[1]", /space/);
    expectOnly(runner({ group: "g", tags: ["eks", "EKS"] }), "gitlab-eks:runner.tags[1]", /twice/);
    expectOnly(runner({ group: "g", tags: ["x".repeat(256)] }), "gitlab-eks:runner.tags[0]", /at most 255/);
    expectOnly(
      runner({ group: "g", tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }),
      "gitlab-eks:runner.tags",
      /at most 50/,
    );
    expectOnly(
      runner({ group: "g", runUntagged: false }),
      "gitlab-eks:runner.runUntagged",
      /Tags list can not be empty/,
    );
  });

  it("refuses invalid Kubernetes quantities, requests above limits, and defaults above caps", () => {
    expectOnly(
      runner({ group: "g", jobResources: { cpuRequest: "lots" } }),
      "gitlab-eks:runner.jobResources.cpuRequest",
      /"lots" is not a Kubernetes CPU quantity/,
    );
    expectOnly(
      runner({ group: "g", managerResources: { memoryLimit: "512" } }),
      "gitlab-eks:runner.managerResources.memoryLimit",
      /less than 1Mi/,
    );
    expectOnly(
      runner({ group: "g", helperResources: { memoryRequest: "1Gi" } }),
      "gitlab-eks:runner.helperResources.memoryRequest",
      /more than runner.helperResources.memoryLimit \(256Mi\)/,
    );
    expectOnly(
      runner({ group: "g", jobResources: { cpuLimit: "3" } }),
      "gitlab-eks:runner.jobResources.cpuLimit",
      /more than runner.jobResources.cpuLimitMaxAllowed \(2\)/,
    );
  });

  it("refuses the manager on a runner pool that may shrink to zero, explaining why", () => {
    const zero = { "gitlab-eks:runnerPool": { minSize: 0, desiredSize: 0 } };
    expectOnly(
      runner({ group: "g" }, zero),
      "gitlab-eks:runner.managerPlacement",
      /runner-pool \(the default\) but runnerPool.minSize is 0/,
      /can never shrink to zero/,
      /system-pool/,
    );
    assert.equal(
      configOf(runner({ group: "g", managerPlacement: "system-pool" }, zero)).runner!.managerPlacement,
      "system-pool",
    );
  });

  it("refuses unknown keys with a did-you-mean, also in nested sections", () => {
    expectOnly(
      runner({ group: "g", concurent: 3 }),
      "gitlab-eks:runner.concurent",
      /did you mean concurrent\?/,
    );
    expectOnly(
      runner({ group: "g", cache: { enabeld: true } }),
      "gitlab-eks:runner.cache.enabeld",
      /did you mean enabled\?/,
    );
  });

  it("refuses out-of-range numbers, reserved namespaces and bad chart versions", () => {
    expectOnly(
      runner({ group: "g", maximumTimeout: 60 }),
      "gitlab-eks:runner.maximumTimeout",
      /at least 600/,
    );
    expectOnly(runner({ group: "g", namespace: "kube-system" }), "gitlab-eks:runner.namespace", /reserved/);
    expectOnly(runner({ group: "g", namespace: "Runner" }), "gitlab-eks:runner.namespace", /namespace name/);
    expectOnly(
      runner({ group: "g", chartVersion: "latest" }),
      "gitlab-eks:runner.chartVersion",
      /chart version/,
    );
    expectOnly(
      runner({ group: "g", image: "ci/{{x}}" }),
      "gitlab-eks:runner.image",
      /the chart templates runners.config/,
    );
  });

  it("reports every runner problem at once, together with other sections' problems", () => {
    const problems = problemsOf(
      runner(
        { tags: ["a,b"], jobResources: { memoryRequest: "lots" }, concurrent: 0 },
        { "gitlab-eks:runnerPool": { minSize: 0 } },
      ),
    );
    const keys = problems.map((p) => p.split(": ")[0]).sort();
    assert.deepEqual(keys, [
      "gitlab-eks:runner.concurrent",
      "gitlab-eks:runner.jobResources.memoryRequest",
      "gitlab-eks:runner.managerPlacement",
      "gitlab-eks:runner.runnerType",
      "gitlab-eks:runner.tags[0]",
    ]);
  });
});
