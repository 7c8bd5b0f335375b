import assert from "node:assert/strict";
import { configOf, minimal, problemsOf } from "./support/config";

/** Asserts exactly one problem, for `key`, whose message matches every pattern. */
function expectProblem(values: Record<string, unknown>, key: string, ...patterns: RegExp[]): void {
  const problems = problemsOf(values);
  assert.equal(problems.length, 1, `expected exactly one problem, got:\n${problems.join("\n")}`);
  assert.ok(
    problems[0].startsWith(`${key}: `),
    `expected the problem to start with "${key}: ", got: ${problems[0]}`,
  );
  for (const p of patterns) assert.match(problems[0], p);
  assert.match(problems[0], /Fix: /, "every problem says how to fix it");
}

const cluster = (extra: Record<string, unknown>) => ({
  "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16", ...extra },
});
const pool = (name: "runnerPool" | "systemPool", extra: Record<string, unknown>) => ({
  [`gitlab-eks:${name}`]: extra,
});

describe("stack config validation", () => {
  describe("defaults", () => {
    it("fills in every default from a minimal stack", () => {
      const c = configOf(minimal(), "dev");
      assert.equal(c.cluster.name, "gitlab-eks-dev");
      assert.equal(c.cluster.kubernetesVersion, "1.33");
      assert.deepEqual(c.cluster.network, {
        mode: "create",
        vpcCidr: "10.0.0.0/16",
        availabilityZones: undefined,
        availabilityZoneCount: 2,
        natGateways: "single",
      });
      assert.deepEqual(c.cluster.publicAccessCidrs, ["0.0.0.0/0"]);
      assert.deepEqual(c.cluster.logTypes, [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
      ]);
      assert.deepEqual(c.runnerPool, {
        instanceTypes: ["t3.medium"],
        capacityType: "ON_DEMAND",
        minSize: 1,
        maxSize: 3,
        desiredSize: 1,
        diskSizeGb: 30,
      });
      assert.deepEqual(c.systemPool.instanceTypes, ["t3.large"]);
      assert.deepEqual(c.isolation, { labelKey: "workload", labelValue: "gitlab-runner" });
      assert.equal(c.region, "eu-west-1");
    });

    it("accepts numbers and booleans given as strings (pulumi config set --path)", () => {
      const c = configOf(minimal(pool("runnerPool", { minSize: "0", maxSize: "5", desiredSize: "2" })));
      assert.deepEqual([c.runnerPool.minSize, c.runnerPool.maxSize, c.runnerPool.desiredSize], [0, 5, 2]);
      assert.equal(
        configOf(minimal(cluster({ endpointPublicAccess: "false" }))).cluster.endpointPublicAccess,
        false,
      );
    });

    it("clamps the default desiredSize into [minSize, maxSize]", () => {
      assert.equal(
        configOf(minimal(pool("runnerPool", { minSize: 2, maxSize: 4 }))).runnerPool.desiredSize,
        2,
      );
      assert.equal(
        configOf(minimal(pool("runnerPool", { minSize: 0, maxSize: 2 }))).runnerPool.desiredSize,
        1,
      );
    });

    it("takes the region from AWS_REGION when aws:region is not set", async () => {
      const { validateStackConfig } = await import("../infra/config/validate");
      const r = validateStackConfig({
        project: "gitlab-eks",
        stack: "dev",
        values: {
          "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" },
          "gitlab-eks:gitlab": { agentProject: "g/c" },
        },
        env: { AWS_REGION: "us-east-2" },
      });
      assert.ok(r.ok);
      assert.equal(r.config.region, "us-east-2");
    });

    it("uses an existing VPC when given vpcId and private subnets", () => {
      const c = configOf({
        "aws:region": "eu-west-1",
        "gitlab-eks:gitlab": { agentProject: "platform/clusters" },
        "gitlab-eks:cluster": {
          vpcId: "vpc-0123456789abcdef0",
          privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        },
      });
      assert.deepEqual(c.cluster.network, {
        mode: "existing",
        vpcId: "vpc-0123456789abcdef0",
        privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        publicSubnetIds: [],
      });
    });
  });

  describe("bad input: one clear problem each, naming the key and the fix", () => {
    it("refuses an unsupported Kubernetes version, listing the supported ones", () => {
      expectProblem(
        minimal(cluster({ kubernetesVersion: "1.29" })),
        "gitlab-eks:cluster.kubernetesVersion",
        /"1\.29"/,
        /1\.31, 1\.32, 1\.33/,
      );
    });

    it("explains the YAML float trap for 1.30", () => {
      expectProblem(
        minimal(cluster({ kubernetesVersion: 1.3 })),
        "gitlab-eks:cluster.kubernetesVersion",
        /quote it/,
      );
    });

    it("refuses vpcCidr and vpcId together", () => {
      expectProblem(
        minimal(cluster({ vpcId: "vpc-0123456789abcdef0" })),
        "gitlab-eks:cluster.vpcId",
        /not both/,
      );
    });

    it("refuses neither vpcCidr nor vpcId", () => {
      expectProblem(
        { "aws:region": "eu-west-1", "gitlab-eks:gitlab": { agentProject: "g/c" } },
        "gitlab-eks:cluster.vpcCidr",
        /neither cluster\.vpcCidr nor cluster\.vpcId/,
      );
    });

    it("refuses subnets without a VPC id", () => {
      expectProblem(
        minimal(cluster({ privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] })),
        "gitlab-eks:cluster.privateSubnetIds",
        /without cluster\.vpcId/,
      );
    });

    it("refuses a VPC id without private subnets", () => {
      expectProblem(
        {
          "aws:region": "eu-west-1",
          "gitlab-eks:gitlab": { agentProject: "g/c" },
          "gitlab-eks:cluster": { vpcId: "vpc-0123456789abcdef0" },
        },
        "gitlab-eks:cluster.privateSubnetIds",
        /is not set/,
        /at least 2 availability zones/,
      );
    });

    it("refuses minSize > maxSize", () => {
      expectProblem(
        minimal(pool("runnerPool", { minSize: 4, maxSize: 2 })),
        "gitlab-eks:runnerPool.minSize",
        /\(4\) is greater than runnerPool\.maxSize \(2\)/,
      );
    });

    it("refuses desiredSize outside [minSize, maxSize]", () => {
      expectProblem(
        minimal(pool("systemPool", { minSize: 2, maxSize: 3, desiredSize: 5 })),
        "gitlab-eks:systemPool.desiredSize",
        /\(5\) is outside \[minSize, maxSize\] = \[2, 3\]/,
      );
    });

    it("refuses negative sizes", () => {
      expectProblem(
        minimal(pool("runnerPool", { minSize: -1 })),
        "gitlab-eks:runnerPool.minSize",
        /at least 0, got -1/,
      );
    });

    it("refuses non-integer sizes", () => {
      expectProblem(
        minimal(pool("runnerPool", { maxSize: 2.5 })),
        "gitlab-eks:runnerPool.maxSize",
        /whole number, got 2\.5/,
      );
      expectProblem(
        minimal(pool("runnerPool", { desiredSize: "two" })),
        "gitlab-eks:runnerPool.desiredSize",
        /whole number, got "two"/,
      );
    });

    it("refuses empty instanceTypes", () => {
      expectProblem(
        minimal(pool("systemPool", { instanceTypes: [] })),
        "gitlab-eks:systemPool.instanceTypes",
        /is empty/,
      );
    });

    it("refuses mixed CPU architectures in one pool", () => {
      expectProblem(
        minimal(pool("runnerPool", { instanceTypes: ["m6i.large", "m7g.large"] })),
        "gitlab-eks:runnerPool.instanceTypes",
        /arm64/,
      );
    });

    it("refuses an unknown capacityType, listing the options", () => {
      expectProblem(
        minimal(pool("runnerPool", { capacityType: "spot" })),
        "gitlab-eks:runnerPool.capacityType",
        /ON_DEMAND, SPOT, got "spot"/,
      );
    });

    it("refuses an invalid isolation label key", () => {
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelKey: "-workload" } }),
        "gitlab-eks:isolation.labelKey",
        /not a valid Kubernetes label key/,
      );
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelKey: "a/b/c" } }),
        "gitlab-eks:isolation.labelKey",
        /more than one '\/'/,
      );
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelKey: "node.kubernetes.io/pool" } }),
        "gitlab-eks:isolation.labelKey",
        /reserved/,
      );
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelKey: "x".repeat(64) } }),
        "gitlab-eks:isolation.labelKey",
        /at most 63/,
      );
    });

    it("refuses an invalid isolation label value", () => {
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelValue: "gitlab runner" } }),
        "gitlab-eks:isolation.labelValue",
        /not a valid Kubernetes label value/,
      );
      expectProblem(
        minimal({ "gitlab-eks:isolation": { labelValue: "" } }),
        "gitlab-eks:isolation.labelValue",
        /is empty/,
      );
    });

    it("refuses a disk below 20 GiB", () => {
      expectProblem(
        minimal(pool("runnerPool", { diskSizeGb: 10 })),
        "gitlab-eks:runnerPool.diskSizeGb",
        /at least 20, got 10/,
      );
    });

    it("refuses unknown top-level keys in our namespace, suggesting the likely one", () => {
      expectProblem(
        minimal({ "gitlab-eks:runerPool": { minSize: 1 } }),
        "gitlab-eks:runerPool",
        /did you mean gitlab-eks:runnerPool\?/,
      );
      expectProblem(
        minimal({ "gitlab-eks:flavour": "x" }),
        "gitlab-eks:flavour",
        /unknown setting/,
        /known settings: cluster, systemPool/,
      );
    });

    it("refuses unknown nested keys, suggesting the likely one", () => {
      expectProblem(
        minimal(pool("runnerPool", { minsize: 1 })),
        "gitlab-eks:runnerPool.minsize",
        /did you mean minSize\?/,
      );
    });

    it("treats keys without a namespace as ours", () => {
      expectProblem(
        {
          "aws:region": "eu-west-1",
          cluster: { vpcCidr: "10.0.0.0/16" },
          gitlab: { agentProject: "g/c" },
          runerPool: {},
        },
        "gitlab-eks:runerPool",
        /did you mean/,
      );
    });

    it("ignores other namespaces", () => {
      assert.deepEqual(problemsOf(minimal({ "aws:profile": "x", "kubernetes:context": "y" })), []);
    });

    it("refuses a missing or malformed region", () => {
      expectProblem(
        { "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" }, "gitlab-eks:gitlab": { agentProject: "g/c" } },
        "aws:region",
        /is not set/,
      );
      expectProblem(minimal({ "aws:region": "Ireland" }), "aws:region", /not an AWS region/);
    });

    it("refuses a cluster name EKS node group names cannot carry", () => {
      expectProblem(minimal(cluster({ name: "a".repeat(30) })), "gitlab-eks:cluster.name", /at most 29/);
      expectProblem(minimal(cluster({ name: "9lives" })), "gitlab-eks:cluster.name", /start with a letter/);
    });

    it("refuses a VPC CIDR that cannot hold the subnets, or with host bits set", () => {
      expectProblem(
        minimal(cluster({ vpcCidr: "10.0.0.0/26" })),
        "gitlab-eks:cluster.vpcCidr",
        /\/16 to \/24/,
      );
      expectProblem(
        minimal(cluster({ vpcCidr: "10.0.1.0/16" })),
        "gitlab-eks:cluster.vpcCidr",
        /host bits/,
        /10\.0\.0\.0\/16/,
      );
      expectProblem(minimal(cluster({ vpcCidr: "10.0.0.0/8x" })), "gitlab-eks:cluster.vpcCidr", /IPv4 CIDR/);
      expectProblem(
        minimal(cluster({ vpcCidr: "10.0.0.0/24" })),
        "gitlab-eks:cluster.vpcCidr",
        /\/26 subnets/,
        /VPC CNI/,
      );
    });

    it("refuses network settings that only apply to a created VPC when vpcId is used", () => {
      expectProblem(
        {
          "aws:region": "eu-west-1",
          "gitlab-eks:gitlab": { agentProject: "platform/clusters" },
          "gitlab-eks:cluster": {
            vpcId: "vpc-0123456789abcdef0",
            privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            natGateways: "single",
          },
        },
        "gitlab-eks:cluster.natGateways",
        /only applies to a VPC this stack creates/,
      );
    });

    it("refuses an unreachable API endpoint and CIDRs that would have no effect", () => {
      expectProblem(
        minimal(cluster({ endpointPublicAccess: false, endpointPrivateAccess: false })),
        "gitlab-eks:cluster.endpointPublicAccess",
        /nothing could reach/,
      );
      expectProblem(
        minimal(cluster({ endpointPublicAccess: false, publicAccessCidrs: ["10.0.0.0/8"] })),
        "gitlab-eks:cluster.publicAccessCidrs",
        /no effect/,
      );
    });

    it("refuses a malformed admin role ARN", () => {
      expectProblem(
        minimal(cluster({ adminRoleArns: ["platform-admin"] })),
        "gitlab-eks:cluster.adminRoleArns[0]",
        /IAM role or user ARN/,
      );
    });
  });

  describe("every problem at once", () => {
    it("reports field errors and cross-setting rules of the same section together", () => {
      const problems = problemsOf({
        "gitlab-eks:cluster": {
          vpcCidr: "10.0.0.0/16",
          vpcId: "vpc-0123456789abcdef0",
          kubernetesVersion: "1.20",
        },
        "gitlab-eks:runnerPool": { minSize: 5, maxSize: 3, capacityType: "cheap", diskSizeGb: 1 },
        "gitlab-eks:isolation": { labelValue: "no spaces" },
        "gitlab-eks:typo": {},
      });
      const keys = problems.map((p) => p.split(": ")[0]).sort();
      assert.deepEqual(keys, [
        "aws:region",
        "gitlab-eks:cluster.kubernetesVersion",
        "gitlab-eks:cluster.vpcId",
        "gitlab-eks:gitlab.agentProject",
        "gitlab-eks:isolation.labelValue",
        "gitlab-eks:runnerPool.capacityType",
        "gitlab-eks:runnerPool.diskSizeGb",
        "gitlab-eks:runnerPool.minSize",
        "gitlab-eks:typo",
      ]);
    });
  });
});
