/**
 * Cluster Autoscaler's Pulumi resources under mocks: the Helm release (chart, version, values, placement),
 * its IRSA role (trusted only by its service account; mutating actions only under the cluster's tag), the
 * runner pool's Auto Scaling group tags, and the headroom objects with their namespaced RBAC.
 */
import assert from "node:assert/strict";
import type { StackConfig } from "../infra/config/types";
import { configOf, minimal } from "./support/config";
import { deployUnderMocks } from "./support/deploy";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";
import { ACCOUNT, RecordingMocks, valueOf } from "./support/pulumi-mocks";

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const AWAY_FROM_RUNNERS = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: "workload", operator: "NotIn", values: ["gitlab-runner"] }] },
      ],
    },
  },
};

let world: GitlabWorld;
before(async () => {
  world = await gitlabWorld();
});
after(() => world.fake.close());

const stack = (extra: Record<string, unknown> = {}) =>
  configOf(
    minimal({
      "gitlab-eks:cluster": { name: "ci", vpcCidr: "10.0.0.0/16", kubernetesVersion: "1.32" },
      "gitlab-eks:agent": { enabled: false },
      "gitlab-eks:runnerPool": {
        instanceTypes: ["m6i.large", "m5.large"],
        minSize: 0,
        maxSize: 4,
        diskSizeGb: 60,
      },
      ...extra,
    }),
  );
const deploy = (config: StackConfig) => deployUnderMocks(world, config.stack, config);

describe("Cluster Autoscaler under Pulumi mocks", () => {
  describe("with headroom and a schedule", () => {
    let mocks: RecordingMocks;
    let deployed: Awaited<ReturnType<typeof deploy>>["deployed"];

    before(async () => {
      ({ mocks, deployed } = await deploy(
        stack({
          "gitlab-eks:autoscaler": {
            scaleDownDelay: "15m",
            headroom: {
              nodes: 2,
              schedule: { scaleUp: "30 6 * * 1-5", scaleDown: "0 20 * * 1-5", timeZone: "Europe/Berlin" },
            },
          },
        }),
      ));
    });

    it("installs the pinned chart in kube-system with the image of the cluster's minor", () => {
      const rel = mocks.one(RELEASE, "cluster-autoscaler").inputs;
      assert.equal(rel.chart, "cluster-autoscaler");
      assert.equal(rel.version, "9.50.1");
      assert.deepEqual(rel.repositoryOpts, { repo: "https://kubernetes.github.io/autoscaler" });
      assert.equal(rel.namespace, "kube-system");
      assert.equal(rel.name, "cluster-autoscaler");
      assert.deepEqual(rel.values.image, {
        repository: "registry.k8s.io/autoscaling/cluster-autoscaler",
        tag: "v1.32.5",
      });
    });

    it("discovers only this cluster's node groups, with CI tuning, in the region", () => {
      const v: Any = mocks.one(RELEASE, "cluster-autoscaler").inputs.values;
      assert.equal(v.cloudProvider, "aws");
      assert.equal(v.awsRegion, "eu-west-1");
      assert.deepEqual(v.autoDiscovery, {
        clusterName: "ci",
        // This cluster's node groups (EKS's tags), and of those the runner pool only (its label tag).
        tags: [
          "k8s.io/cluster-autoscaler/enabled",
          "k8s.io/cluster-autoscaler/ci",
          "k8s.io/cluster-autoscaler/node-template/label/workload=gitlab-runner",
        ],
      });
      assert.deepEqual(v.extraArgs, {
        "balance-similar-node-groups": true,
        "skip-nodes-with-local-storage": false,
        "scale-down-unneeded-time": "15m",
        "scale-down-delay-after-add": "15m",
        "write-status-configmap": true,
        "status-config-map-name": "cluster-autoscaler-status",
      });
    });

    it("runs on the system pool (derived from the isolation rule) under its IRSA role", async () => {
      const v: Any = mocks.one(RELEASE, "cluster-autoscaler").inputs.values;
      assert.deepEqual(v.affinity, AWAY_FROM_RUNNERS);
      assert.deepEqual(v.tolerations, []);
      assert.deepEqual(v.podLabels, { "gitlab-eks/component": "cluster-autoscaler" });
      assert.deepEqual(v.rbac.serviceAccount, {
        create: true,
        name: "cluster-autoscaler",
        annotations: { "eks.amazonaws.com/role-arn": `arn:aws:iam::${ACCOUNT}:role/cluster-autoscaler` },
      });
      assert.equal(
        await valueOf(deployed.outputs.autoscalerRoleArn!),
        `arn:aws:iam::${ACCOUNT}:role/cluster-autoscaler`,
      );
    });

    it("trusts only the autoscaler's service account through the cluster's OIDC provider", () => {
      const role = mocks.one("aws:iam/role:Role", "cluster-autoscaler").inputs;
      assert.deepEqual(JSON.parse(role.assumeRolePolicy), {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${OIDC}` },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
              StringEquals: {
                [`${OIDC}:sub`]: "system:serviceaccount:kube-system:cluster-autoscaler",
                [`${OIDC}:aud`]: "sts.amazonaws.com",
              },
            },
          },
        ],
      });
    });

    it("allows reads, and scaling only the Auto Scaling group tagged as this cluster's runner pool", () => {
      const policy = JSON.parse(
        mocks.one("aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler").inputs.policy,
      );
      const statements: Any[] = policy.Statement;
      const mutating = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"];
      for (const s of statements) {
        const actions: string[] = [s.Action].flat();
        assert.ok(
          actions.every((a) => !a.includes("*")),
          "no wildcard actions",
        );
        if (actions.some((a) => mutating.includes(a)))
          assert.deepEqual(s.Condition, {
            StringEquals: {
              "aws:ResourceTag/k8s.io/cluster-autoscaler/ci": "owned",
              "aws:ResourceTag/k8s.io/cluster-autoscaler/node-template/label/workload": "gitlab-runner",
            },
          });
        else
          assert.ok(
            actions.every((a) => /^(autoscaling|ec2|eks):(Describe|Get)/.test(a)),
            `read only: ${actions}`,
          );
      }
      assert.deepEqual(statements.find((s) => s.Sid === "ScaleRunnerPool").Action, mutating);
      assert.deepEqual(
        statements.find((s) => s.Sid === "ReadNodegroups"),
        {
          Sid: "ReadNodegroups",
          Effect: "Allow",
          Action: ["eks:DescribeNodegroup"],
          Resource: `arn:aws:eks:eu-west-1:${ACCOUNT}:nodegroup/ci/*`,
        },
      );
      const read = statements.find((s) => s.Sid === "Read");
      assert.equal(read.Resource, "*");
      assert.ok(read.Action.includes("ec2:GetInstanceTypesFromInstanceRequirements"));
      assert.ok(read.Action.includes("autoscaling:DescribeTags"), "auto-discovery");
    });

    it("tags the runner pool's Auto Scaling group for scale-up from zero: label, taint and disk", () => {
      const asg = "eks-ci-runner-20261122035500000000000001-a1b2c3d4";
      const tags = mocks.ofType("aws:autoscaling/tag:Tag").map((t) => t.inputs);
      assert.deepEqual(
        tags.map((t) => [t.autoscalingGroupName, t.tag.key, t.tag.value, t.tag.propagateAtLaunch]).sort(),
        [
          [asg, "k8s.io/cluster-autoscaler/node-template/label/workload", "gitlab-runner", false],
          [asg, "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage", "60Gi", false],
          [asg, "k8s.io/cluster-autoscaler/node-template/taint/workload", "gitlab-runner:NoSchedule", false],
        ],
      );
    });

    it("creates placeholders below every job, one per runner node, sized like most of one", () => {
      const pc = mocks.one("kubernetes:scheduling.k8s.io/v1:PriorityClass", "headroom").inputs;
      assert.equal(pc.metadata.name, "gitlab-eks-runner-headroom");
      assert.equal(pc.value, -1, "below jobs (0), at or above CA's expendable cutoff (-10)");
      assert.equal(pc.globalDefault, false);
      assert.equal(pc.preemptionPolicy, "Never");
      assert.equal(
        mocks.one("kubernetes:core/v1:Namespace", "headroom").inputs.metadata.name,
        "gitlab-eks-headroom",
      );

      const d = mocks.one("kubernetes:apps/v1:Deployment", "headroom").inputs;
      assert.equal(d.metadata.namespace, "gitlab-eks-headroom");
      assert.deepEqual(
        d.metadata.annotations,
        { "pulumi.com/skipAwait": "true" },
        "up does not wait for new nodes",
      );
      assert.equal(d.spec.replicas, 0, "the schedule's CronJob scales it up");
      const pod = d.spec.template.spec;
      assert.equal(pod.priorityClassName, "gitlab-eks-runner-headroom");
      assert.deepEqual(pod.tolerations, [
        { key: "workload", operator: "Equal", value: "gitlab-runner", effect: "NoSchedule" },
      ]);
      assert.deepEqual(
        pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
        [{ matchExpressions: [{ key: "workload", operator: "In", values: ["gitlab-runner"] }] }],
      );
      assert.deepEqual(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, [
        {
          labelSelector: { matchLabels: { "app.kubernetes.io/name": "runner-headroom" } },
          topologyKey: "kubernetes.io/hostname",
        },
      ]);
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(pod.containers[0].image, "registry.k8s.io/pause:3.10");
      assert.deepEqual(pod.containers[0].resources, {
        requests: { cpu: "1400m", memory: "5734Mi" },
        limits: { memory: "5734Mi" },
      });
      assert.equal(d.spec.template.metadata.labels["gitlab-eks/component"], "runner-headroom");
    });

    it("schedules it with two CronJobs on the system pool, pinned image, in the given time zone", () => {
      const up = mocks.one("kubernetes:batch/v1:CronJob", "runner-headroom-up").inputs;
      const down = mocks.one("kubernetes:batch/v1:CronJob", "runner-headroom-down").inputs;
      assert.deepEqual([up.spec.schedule, down.spec.schedule], ["30 6 * * 1-5", "0 20 * * 1-5"]);
      for (const [cron, replicas] of [
        [up, "2"],
        [down, "0"],
      ] as [Any, string][]) {
        assert.equal(cron.metadata.namespace, "gitlab-eks-headroom");
        assert.equal(cron.spec.timeZone, "Europe/Berlin");
        assert.equal(cron.spec.concurrencyPolicy, "Forbid");
        const pod = cron.spec.jobTemplate.spec.template.spec;
        assert.equal(pod.serviceAccountName, "runner-headroom-scaler");
        assert.deepEqual(pod.affinity, AWAY_FROM_RUNNERS);
        assert.equal(pod.tolerations, undefined);
        const c = pod.containers[0];
        assert.equal(c.image, "curlimages/curl:8.11.1");
        assert.deepEqual(Object.fromEntries(c.env.map((e: Any) => [e.name, e.value])), {
          NAMESPACE: "gitlab-eks-headroom",
          DEPLOYMENT: "runner-headroom",
          REPLICAS: replicas,
        });
      }
    });

    it("gives the scaler namespaced RBAC that can only scale the placeholder Deployment", () => {
      assert.equal(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").length, 0);
      assert.equal(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 0);
      const role = mocks.one("kubernetes:rbac.authorization.k8s.io/v1:Role", "headroom-scaler").inputs;
      assert.equal(role.metadata.namespace, "gitlab-eks-headroom");
      assert.deepEqual(role.rules, [
        {
          apiGroups: ["apps"],
          resources: ["deployments/scale"],
          resourceNames: ["runner-headroom"],
          verbs: ["get", "patch"],
        },
      ]);
      const binding = mocks.one(
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "headroom-scaler",
      ).inputs;
      assert.equal(binding.metadata.namespace, "gitlab-eks-headroom");
      assert.deepEqual(binding.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "runner-headroom-scaler",
      });
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: "runner-headroom-scaler", namespace: "gitlab-eks-headroom" },
      ]);
      const sa = mocks.one("kubernetes:core/v1:ServiceAccount", "headroom-scaler").inputs;
      assert.equal(sa.metadata.name, "runner-headroom-scaler");
    });
  });

  describe("with headroom always on", () => {
    it("keeps the placeholders at headroom.nodes, and creates no schedule", async () => {
      const { mocks } = await deploy(
        stack({ "gitlab-eks:autoscaler": { headroom: { nodes: 1, cpu: "1", memory: "3Gi" } } }),
      );
      const d = mocks.one("kubernetes:apps/v1:Deployment", "headroom").inputs;
      assert.equal(d.spec.replicas, 1);
      assert.deepEqual(d.spec.template.spec.containers[0].resources.requests, { cpu: "1", memory: "3Gi" });
      assert.equal(mocks.ofType("kubernetes:batch/v1:CronJob").length, 0);
      assert.equal(mocks.ofType("kubernetes:rbac.authorization.k8s.io/v1:Role").length, 0);
    });
  });

  describe("without headroom, and turned off", () => {
    it("creates the autoscaler but no headroom objects by default", async () => {
      const { mocks } = await deploy(stack());
      assert.equal(mocks.one(RELEASE, "cluster-autoscaler").inputs.values.image.tag, "v1.32.5");
      for (const type of [
        "kubernetes:apps/v1:Deployment",
        "kubernetes:scheduling.k8s.io/v1:PriorityClass",
        "kubernetes:batch/v1:CronJob",
      ])
        assert.equal(mocks.ofType(type).length, 0, type);
    });

    it("creates no autoscaler, role or policy with autoscaler.enabled false", async () => {
      const config = stack({
        "gitlab-eks:runnerPool": { minSize: 1 },
        "gitlab-eks:autoscaler": { enabled: false },
      });
      const { mocks, deployed } = await deploy(config);
      assert.equal(mocks.ofType(RELEASE).length, 0);
      assert.equal(mocks.ofType("aws:iam/rolePolicy:RolePolicy").length, 0);
      assert.ok(mocks.ofType("aws:iam/role:Role").every((r) => r.name !== "cluster-autoscaler"));
      assert.equal(deployed.outputs.autoscalerRoleArn, undefined);
    });
  });
});
