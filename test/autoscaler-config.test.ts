/**
 * `gitlab-eks:autoscaler` and the rules that tie it to the runner pool and the runner: defaults, the image
 * per Kubernetes minor, each refusal with its reason and fix, and the poll timeout for scale from zero.
 */
import assert from "node:assert/strict";
import { instanceShape, placeholderSize } from "../infra/core/instances";
import { configOf, minimal, problemsOf } from "./support/config";

const zero = { minSize: 0, maxSize: 3 };
const runner = (extra: Record<string, unknown> = {}) => ({
  "gitlab-eks:runner": { group: "platform", managerPlacement: "system-pool", ...extra },
});

describe("autoscaler config", () => {
  it("is on by default: pinned chart, image of the cluster's minor, 10m scale-down delay, no headroom", () => {
    const c = configOf(minimal());
    assert.deepEqual(c.autoscaler, {
      chartVersion: "9.50.1",
      imageTag: "v1.33.3",
      scaleDownDelay: "10m",
      // The size a placeholder would have (70% of a t3.medium), used once headroom.nodes is set.
      headroom: { nodes: 0, cpu: "1400m", memory: "2867Mi" },
    });
  });

  for (const [version, tag] of [
    ["1.31", "v1.31.4"],
    ["1.32", "v1.32.5"],
    ["1.33", "v1.33.3"],
  ])
    it(`derives image ${tag} for Kubernetes ${version}`, () => {
      const c = configOf(
        minimal({ "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16", kubernetesVersion: version } }),
      );
      assert.equal(c.autoscaler?.imageTag, tag);
    });

  it("accepts a pinned image of the cluster's minor and refuses another minor, saying why", () => {
    assert.equal(
      configOf(minimal({ "gitlab-eks:autoscaler": { imageTag: "v1.33.9" } })).autoscaler?.imageTag,
      "v1.33.9",
    );
    const problems = problemsOf(
      minimal({
        "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16", kubernetesVersion: "1.32" },
        "gitlab-eks:autoscaler": { imageTag: "v1.33.3" },
      }),
    );
    assert.deepEqual(problems, [
      `gitlab-eks:autoscaler.imageTag: "v1.33.3" is Cluster Autoscaler 1.33, but the cluster runs Kubernetes 1.32; ` +
        `Cluster Autoscaler supports only the Kubernetes minor it was built for. ` +
        `Fix: pulumi config rm --path 'gitlab-eks:autoscaler.imageTag' (the default is v1.32.5), or set a v1.32.x tag`,
    ]);
  });

  it("can be turned off; then the stack has no autoscaler and minSize 0 is refused with the reason", () => {
    assert.equal(configOf(minimal({ "gitlab-eks:autoscaler": { enabled: false } })).autoscaler, undefined);
    const problems = problemsOf(
      minimal({ "gitlab-eks:autoscaler": { enabled: "false" }, "gitlab-eks:runnerPool": zero }),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /^gitlab-eks:runnerPool\.minSize: is 0 but autoscaler\.enabled is false: nothing would ever add a runner node, so every job would wait until its poll timeout and fail\. Fix: .*runnerPool\.minSize' 1, or turn the autoscaler on/,
    );
  });

  it("keeps refusing minSize 0 with the manager on the runner pool (it would keep a node up)", () => {
    const problems = problemsOf(
      minimal({ "gitlab-eks:runnerPool": zero, ...runner({ managerPlacement: undefined }) }),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /^gitlab-eks:runner\.managerPlacement: is runner-pool \(the default\) but runnerPool\.minSize is 0/,
    );
  });

  it("takes the scale-down delay as a duration and refuses anything else", () => {
    assert.equal(
      configOf(minimal({ "gitlab-eks:autoscaler": { scaleDownDelay: "1h30m" } })).autoscaler?.scaleDownDelay,
      "1h30m",
    );
    assert.deepEqual(problemsOf(minimal({ "gitlab-eks:autoscaler": { scaleDownDelay: "10 minutes" } })), [
      `gitlab-eks:autoscaler.scaleDownDelay: must be a duration such as 10m, 90s or 1h, got "10 minutes". Fix: pulumi config set --path 'gitlab-eks:autoscaler.scaleDownDelay' 10m`,
    ]);
  });

  it("refuses unknown settings, nested ones too, with a did-you-mean", () => {
    const problems = problemsOf(minimal({ "gitlab-eks:autoscaler": { headroom: { node: 1 } } }));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /^gitlab-eks:autoscaler\.headroom\.node: unknown setting; it is not read: did you mean nodes\?/,
    );
  });
});

describe("runner poll timeout with a pool that scales from zero", () => {
  it("defaults to 600 s with minSize 0, and stays at GitLab Runner's 180 s otherwise", () => {
    assert.equal(configOf(minimal({ "gitlab-eks:runnerPool": zero, ...runner() })).runner?.pollTimeout, 600);
    assert.equal(configOf(minimal(runner())).runner?.pollTimeout, 180);
    assert.equal(
      configOf(minimal({ "gitlab-eks:runnerPool": zero, ...runner({ pollTimeout: 300 }) })).runner
        ?.pollTimeout,
      300,
    );
  });

  it("refuses one below 300 s with minSize 0, saying why", () => {
    const problems = problemsOf(
      minimal({ "gitlab-eks:runnerPool": zero, ...runner({ pollTimeout: "180" }) }),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /^gitlab-eks:runner\.pollTimeout: \(180 s\) is too short for a runner pool that scales from zero \(runnerPool\.minSize 0\): a job's pod waits for the autoscaler's scan, an EC2 launch and node registration \(a minute or more\) and its image pull, and the job fails when this timeout expires first\. Fix: pulumi config set --path 'gitlab-eks:runner\.pollTimeout' 600 \(at least 300\), or remove it to get 600$/,
    );
    assert.deepEqual(
      problemsOf(minimal(runner({ pollTimeout: 60 }))),
      [],
      "a pool that never is at zero may wait less",
    );
  });
});

describe("headroom config", () => {
  it("sizes a placeholder at 70% of the pool's smallest instance type", () => {
    assert.deepEqual(instanceShape("t3.medium"), { vcpu: 2, memoryMiB: 4096 });
    assert.deepEqual(instanceShape("m6i.xlarge"), { vcpu: 4, memoryMiB: 16384 });
    assert.deepEqual(instanceShape("c7g.2xlarge"), { vcpu: 8, memoryMiB: 16384 });
    assert.deepEqual(instanceShape("r5d.large"), { vcpu: 2, memoryMiB: 16384 });
    assert.equal(instanceShape("c5n.large"), undefined);
    assert.equal(instanceShape("m6i.metal"), undefined);
    assert.deepEqual(placeholderSize(["m6i.large", "m5.large"]), { cpu: "1400m", memory: "5734Mi" });
    const c = configOf(
      minimal({
        "gitlab-eks:runnerPool": { instanceTypes: ["t3.medium", "t3a.medium"] },
        "gitlab-eks:autoscaler": { headroom: { nodes: 1 } },
      }),
    );
    assert.deepEqual(c.autoscaler?.headroom, { nodes: 1, cpu: "1400m", memory: "2867Mi" });
  });

  it("takes an explicit size and a schedule with its defaults", () => {
    const c = configOf(
      minimal({
        "gitlab-eks:autoscaler": {
          headroom: {
            nodes: "2",
            cpu: "1",
            memory: "2Gi",
            schedule: { scaleUp: " 0 7 * * 1-5 ", scaleDown: "0 19 * * MON-FRI" },
          },
        },
      }),
    );
    assert.deepEqual(c.autoscaler?.headroom, {
      nodes: 2,
      cpu: "1",
      memory: "2Gi",
      schedule: {
        scaleUp: "0 7 * * 1-5",
        scaleDown: "0 19 * * MON-FRI",
        timeZone: "Etc/UTC",
        image: "curlimages/curl:8.11.1",
      },
    });
  });

  it("reports every headroom problem at once, each with its fix", () => {
    const problems = problemsOf(
      minimal({
        "gitlab-eks:runnerPool": { instanceTypes: ["c5n.large"], maxSize: 2 },
        "gitlab-eks:autoscaler": { headroom: { nodes: 3 } },
      }),
    );
    assert.deepEqual(problems, [
      `gitlab-eks:autoscaler.headroom.nodes: (3) is more than runnerPool.maxSize (2); the autoscaler never grows the pool past its maximum. Fix: pulumi config set --path 'gitlab-eks:autoscaler.headroom.nodes' 2`,
      `gitlab-eks:autoscaler.headroom.cpu: is not set, and the size of a runner node is not known for c5n.large; a placeholder must fit on one runner node after its system pods. Fix: pulumi config set --path 'gitlab-eks:autoscaler.headroom.cpu' 1400m and 'gitlab-eks:autoscaler.headroom.memory' 2800Mi (about 70% of the node)`,
    ]);
    assert.deepEqual(
      problemsOf(
        minimal({
          "gitlab-eks:autoscaler": {
            enabled: false,
            headroom: { nodes: 1, schedule: { scaleUp: "0 7 * * *", scaleDown: "0 7 * * *" } },
          },
        }),
      ),
      [
        `gitlab-eks:autoscaler.headroom.nodes: is 1 but autoscaler.enabled is false; warm nodes need the autoscaler. Fix: pulumi config rm --path 'gitlab-eks:autoscaler.headroom'`,
        `gitlab-eks:autoscaler.headroom.schedule.scaleDown: is the same as scaleUp, so the headroom would be turned on and off at the same moment. Fix: give it the time the headroom should stop`,
      ],
    );
    assert.deepEqual(
      problemsOf(
        minimal({
          "gitlab-eks:autoscaler": {
            headroom: { schedule: { scaleUp: "0 7 * * *", scaleDown: "0 19 * * *" } },
          },
        }),
      ),
      [
        `gitlab-eks:autoscaler.headroom.schedule: is set but headroom.nodes is 0, so there is nothing to schedule. Fix: pulumi config set --path 'gitlab-eks:autoscaler.headroom.nodes' 1`,
      ],
    );
  });

  it("refuses a cron expression that is not five fields, and a missing one", () => {
    const bad = problemsOf(
      minimal({
        "gitlab-eks:autoscaler": {
          headroom: { nodes: 1, schedule: { scaleUp: "at 7", scaleDown: "0 19 * * *" } },
        },
      }),
    );
    assert.equal(bad.length, 1, bad.join("\n"));
    assert.match(
      bad[0],
      /^gitlab-eks:autoscaler\.headroom\.schedule\.scaleUp: must be a cron expression of five fields/,
    );
    const missing = problemsOf(
      minimal({ "gitlab-eks:autoscaler": { headroom: { nodes: 1, schedule: { scaleUp: "0 7 * * *" } } } }),
    );
    assert.deepEqual(missing, [
      `gitlab-eks:autoscaler.headroom.schedule.scaleDown: is not set; a schedule needs both scaleUp and scaleDown. Fix: pulumi config set --path 'gitlab-eks:autoscaler.headroom.schedule.scaleDown' '"0 19 * * 1-5"'`,
    ]);
  });
});
