import assert from "node:assert/strict";
import { architectureOf } from "../infra/core/instances";
import { isolationRule } from "../infra/model/isolation";
import { subnetPlanProblem } from "../infra/core/cidr";
import { planSubnets } from "../infra/model/network";
import { desiredNodePools } from "../infra/model/nodePools";
import { configOf, minimal } from "./support/config";

describe("isolation rule", () => {
  const rule = isolationRule({ labelKey: "example.com/pool", labelValue: "ci" });

  it("derives label, taint, toleration, affinity and selector from one key and value", () => {
    assert.equal(rule.label, "example.com/pool=ci");
    assert.deepEqual(rule.nodeLabels, { "example.com/pool": "ci" });
    assert.deepEqual(rule.taint, { key: "example.com/pool", value: "ci", effect: "NoSchedule" });
    assert.equal(rule.taintString, "example.com/pool=ci:NoSchedule");
    assert.deepEqual(rule.eksTaint, { key: "example.com/pool", value: "ci", effect: "NO_SCHEDULE" });
    assert.deepEqual(rule.toleration, {
      key: "example.com/pool",
      operator: "Equal",
      value: "ci",
      effect: "NoSchedule",
    });
    assert.deepEqual(
      rule.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      [{ matchExpressions: [{ key: "example.com/pool", operator: "In", values: ["ci"] }] }],
    );
    assert.deepEqual(rule.nodeSelector, { "example.com/pool": "ci" });
  });

  it("gives Cluster Autoscaler node-template tags for an empty pool", () => {
    assert.deepEqual(rule.autoscalerTags, {
      "k8s.io/cluster-autoscaler/node-template/label/example.com/pool": "ci",
      "k8s.io/cluster-autoscaler/node-template/taint/example.com/pool": "ci:NoSchedule",
    });
  });
});

describe("desired node pools", () => {
  const config = configOf(
    minimal({
      "gitlab-eks:isolation": { labelKey: "pool", labelValue: "runners" },
      "gitlab-eks:runnerPool": {
        instanceTypes: ["c7g.large", "m7g.large"],
        capacityType: "SPOT",
        minSize: 0,
        maxSize: 4,
      },
    }),
  );
  const [system, runner] = desiredNodePools(config);

  it("puts the isolation label and taint on the runner pool only", () => {
    assert.equal(runner.role, "runner");
    assert.deepEqual(runner.labels, { pool: "runners" });
    assert.deepEqual(runner.taints, [{ key: "pool", value: "runners", effect: "NoSchedule" }]);
    assert.equal(system.role, "system");
    assert.deepEqual(system.labels, {});
    assert.deepEqual(system.taints, []);
    assert.deepEqual(system.autoscalerTags, {});
    assert.deepEqual(Object.keys(runner.autoscalerTags).sort(), [
      "k8s.io/cluster-autoscaler/node-template/label/pool",
      // The pool's disk, so a job that requests ephemeral storage can scale an empty pool up.
      "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage",
      "k8s.io/cluster-autoscaler/node-template/taint/pool",
    ]);
  });

  it("carries capacity and scaling, picks the AMI by architecture, and limits IMDS on runner nodes", () => {
    assert.deepEqual(
      [runner.capacityType, runner.minSize, runner.maxSize, runner.desiredSize, runner.diskSizeGb],
      ["SPOT", 0, 4, 1, 30],
    );
    assert.equal(runner.amiType, "AL2023_ARM_64_STANDARD");
    assert.equal(system.amiType, "AL2023_x86_64_STANDARD");
    assert.equal(runner.imdsHopLimit, 1);
    assert.equal(system.imdsHopLimit, 2);
    assert.equal(runner.ignoreScalingChanges, true);
    assert.equal(runner.name, "gitlab-eks-dev-runner");
  });

  it("tells Graviton instance types from x86 ones", () => {
    for (const t of ["t4g.medium", "m7gd.2xlarge", "c6gn.large", "g5g.xlarge", "r8g.large"])
      assert.equal(architectureOf(t), "arm64", t);
    for (const t of ["t3.medium", "m6i.large", "g4dn.xlarge", "c7a.large", "inf2.xlarge", "p5.48xlarge"])
      assert.equal(architectureOf(t), "x86_64", t);
  });
});

describe("subnet plan", () => {
  it("splits a /16 into private and public halves, one block per zone", () => {
    assert.deepEqual(planSubnets("10.10.0.0/16", 2), {
      private: ["10.10.0.0/18", "10.10.64.0/18"],
      public: ["10.10.128.0/18", "10.10.192.0/18"],
      prefixLength: 18,
    });
    assert.deepEqual(planSubnets("10.20.0.0/16", 3), {
      private: ["10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"],
      public: ["10.20.128.0/19", "10.20.160.0/19", "10.20.192.0/19"],
      prefixLength: 19,
    });
  });

  it("never overlaps and stays inside the VPC", () => {
    const plan = planSubnets("172.16.0.0/20", 3);
    const toRange = (cidr: string) => {
      const [ip, p] = cidr.split("/");
      const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
      return [n, n + 2 ** (32 - Number(p)) - 1];
    };
    const [vpcStart, vpcEnd] = toRange("172.16.0.0/20");
    const ranges = [...plan.private, ...plan.public].map(toRange).sort((a, b) => a[0] - b[0]);
    for (const [s, e] of ranges) assert.ok(s >= vpcStart && e <= vpcEnd);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i][0] > ranges[i - 1][1]);
  });

  it("explains a block too small or misaligned", () => {
    assert.match(subnetPlanProblem("10.0.0.0/25", 2) ?? "", /\/16 to \/24/);
    assert.match(subnetPlanProblem("10.0.0.0/24", 2) ?? "", /gives \/26 subnets, smaller than \/24/);
    assert.match(subnetPlanProblem("10.0.0.0/21", 6) ?? "", /gives \/25 subnets/);
    assert.equal(subnetPlanProblem("10.0.0.0/21", 4), undefined);
    assert.throws(() => planSubnets("10.0.0.1/16", 2), /host bits/);
  });
});
