/**
 * The Pulumi program under mocks, for each example stack: the inputs of every resource it registers.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { readStackFiles } from "../infra/config/stackFiles";
import { requireValidConfig } from "../infra/config/validate";
import type { StackConfig } from "../infra/config/types";
import { deployUnderMocks, exampleConfig, ROOT } from "./support/deploy";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";
import { PRIMARY_CLUSTER_SG, RecordedResource, RecordingMocks, valueOf, ZONES } from "./support/pulumi-mocks";

/** What the runner adds (test/runner-stack.test.ts asserts their inputs). */
const RUNNER_TYPES = [
  "kubernetes:core/v1:Namespace",
  "kubernetes:core/v1:Secret",
  "kubernetes:core/v1:ServiceAccount",
  "kubernetes:helm.sh/v3:Release",
  "pulumi-nodejs:dynamic/gitlab-eks:GitlabRunner",
];
const RUNNER_CACHE_TYPES = [
  "aws:iam/rolePolicy:RolePolicy",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
];

/** What Cluster Autoscaler and its headroom add (test/autoscaler-stack.test.ts asserts their inputs). */
const AUTOSCALER_TYPES = [
  "aws:iam/role:Role",
  "aws:iam/rolePolicy:RolePolicy",
  "kubernetes:helm.sh/v3:Release",
];
const HEADROOM_TYPES = [
  "kubernetes:apps/v1:Deployment",
  "kubernetes:batch/v1:CronJob",
  "kubernetes:core/v1:Namespace",
  "kubernetes:core/v1:ServiceAccount",
  "kubernetes:rbac.authorization.k8s.io/v1:Role",
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  "kubernetes:scheduling.k8s.io/v1:PriorityClass",
];

let world: GitlabWorld;
before(async () => {
  world = await gitlabWorld();
});
after(() => world.fake.close());
const deploy = (stack: string, config: StackConfig) => deployUnderMocks(world, stack, config);

for (const stack of ["dev", "staging", "production"]) {
  describe(`Pulumi program, example stack "${stack}"`, () => {
    let config: StackConfig;
    let mocks: RecordingMocks;
    let deployed: Awaited<ReturnType<typeof deploy>>["deployed"];

    before(async () => {
      config = exampleConfig(stack);
      ({ mocks, deployed } = await deploy(stack, config));
    });

    const EKS_CLUSTER = "eks:index:Cluster";
    const MNG = "eks:index:ManagedNodeGroup";
    const LT = "aws:ec2/launchTemplate:LaunchTemplate";

    it("creates the cluster: API auth, no default node group, OIDC, logs, versions, networking", () => {
      const [cluster] = mocks.ofType(EKS_CLUSTER);
      assert.equal(mocks.ofType(EKS_CLUSTER).length, 1);
      const i = cluster.inputs;
      assert.equal(i.name, config.cluster.name);
      assert.equal(i.version, config.cluster.kubernetesVersion);
      assert.equal(i.authenticationMode, "API");
      assert.equal(i.skipDefaultNodeGroup, true);
      assert.equal(i.skipDefaultSecurityGroups, true);
      assert.equal(i.createOidcProvider, true);
      assert.equal(i.nodeAssociatePublicIpAddress, false);
      assert.deepEqual(i.enabledClusterLogTypes, [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
      ]);
      assert.equal(i.vpcId, "vpc-id");
      const zones =
        config.cluster.network.mode === "create" ? config.cluster.network.availabilityZoneCount : 0;
      assert.deepEqual(
        i.privateSubnetIds,
        Array.from({ length: zones }, (_, n) => `private-${n}-id`),
      );
      assert.deepEqual(
        i.publicSubnetIds,
        Array.from({ length: zones }, (_, n) => `public-${n}-id`),
      );
      assert.equal(i.endpointPublicAccess, config.cluster.endpointPublicAccess);
      assert.deepEqual(i.publicAccessCidrs, config.cluster.publicAccessCidrs);
      // CoreDNS comes as our own managed add-on after the system pool, not from the component.
      assert.equal(i.corednsAddonOptions.enabled, false);
      assert.equal(i.tags["gitlab-eks:stack"], stack);
      assert.equal(i.tags.environment, stack);
    });

    it("grants each admin role cluster admin through an access entry", () => {
      const entries = mocks.ofType(EKS_CLUSTER)[0].inputs.accessEntries as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.deepEqual(
        Object.values(entries).map((e) => e.principalArn),
        config.cluster.adminRoleArns,
      );
      for (const e of Object.values(entries)) {
        assert.equal(e.type, "STANDARD");
        assert.equal(
          e.accessPolicies.admin.policyArn,
          "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        );
        assert.deepEqual(e.accessPolicies.admin.accessScope, { type: "cluster" });
      }
    });

    it("creates the VPC with subnets across zones, NAT and routes", () => {
      const net = config.cluster.network;
      assert.equal(net.mode, "create");
      if (net.mode !== "create") return;
      const vpc = mocks.one("aws:ec2/vpc:Vpc", "vpc");
      assert.equal(vpc.inputs.cidrBlock, net.vpcCidr);
      assert.equal(vpc.inputs.enableDnsHostnames, true);
      const subnets = mocks.ofType("aws:ec2/subnet:Subnet");
      assert.equal(subnets.length, 2 * net.availabilityZoneCount);
      for (let n = 0; n < net.availabilityZoneCount; n++) {
        const priv = mocks.one("aws:ec2/subnet:Subnet", `private-${n}`).inputs;
        const pub = mocks.one("aws:ec2/subnet:Subnet", `public-${n}`).inputs;
        assert.equal(priv.availabilityZone, ZONES[n]);
        assert.equal(pub.availabilityZone, ZONES[n]);
        assert.equal(priv.tags["kubernetes.io/role/internal-elb"], "1");
        assert.equal(pub.tags["kubernetes.io/role/elb"], "1");
        assert.equal(priv.tags[`kubernetes.io/cluster/${config.cluster.name}`], "shared");
        assert.equal(priv.mapPublicIpOnLaunch, false);
      }
      const nats = mocks.ofType("aws:ec2/natGateway:NatGateway");
      assert.equal(nats.length, net.natGateways === "one-per-az" ? net.availabilityZoneCount : 1);
      const privateRoutes = mocks
        .ofType("aws:ec2/routeTable:RouteTable")
        .filter((r) => r.name.startsWith("private-"));
      assert.equal(privateRoutes.length, net.availabilityZoneCount);
      for (const rt of privateRoutes) assert.match(rt.inputs.routes[0].natGatewayId, /^nat-\d-id$/);
      assert.equal(mocks.one("aws:ec2/routeTable:RouteTable", "public").inputs.routes[0].gatewayId, "igw-id");
    });

    it("creates a shared internal-networking security group with a self-referencing rule", () => {
      const sg = mocks.one("aws:ec2/securityGroup:SecurityGroup", "internal-networking");
      assert.equal(sg.inputs.vpcId, "vpc-id");
      const ingress = mocks.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
      assert.equal(ingress.length, 1);
      assert.equal(ingress[0].inputs.securityGroupId, "internal-networking-id");
      assert.equal(ingress[0].inputs.referencedSecurityGroupId, "internal-networking-id");
      assert.equal(ingress[0].inputs.ipProtocol, "-1");
      const egress = mocks.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
      assert.equal(egress.length, 1);
      assert.equal(egress[0].inputs.cidrIpv4, "0.0.0.0/0");
    });

    for (const role of ["system", "runner"] as const) {
      it(`gives the ${role} pool a launch template with both security groups, IMDSv2 and an encrypted gp3 disk`, () => {
        const lt = mocks.one(LT, `${role}-nodes`).inputs;
        const pool = role === "system" ? config.systemPool : config.runnerPool;
        // The EKS primary cluster SG (eksCluster.vpcConfig.clusterSecurityGroupId), plus the shared one.
        assert.deepEqual(lt.vpcSecurityGroupIds, [PRIMARY_CLUSTER_SG, "internal-networking-id"]);
        assert.deepEqual(lt.metadataOptions, {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: role === "runner" ? 1 : 2,
          instanceMetadataTags: "disabled",
        });
        assert.deepEqual(lt.blockDeviceMappings, [
          {
            deviceName: "/dev/xvda",
            ebs: {
              volumeSize: pool.diskSizeGb,
              volumeType: "gp3",
              encrypted: "true",
              deleteOnTermination: "true",
            },
          },
        ]);
        assert.deepEqual(
          lt.tagSpecifications.map((t: { resourceType: string }) => t.resourceType),
          ["instance", "volume", "network-interface"],
        );
        for (const t of lt.tagSpecifications) assert.equal(t.tags["gitlab-eks:pool"], role);
        assert.equal(lt.imageId, undefined, "EKS picks the AMI from amiType");
        assert.equal(lt.userData, undefined, "EKS writes the AL2023 node bootstrap");
      });

      it(`creates the ${role} managed node group with its launch template, capacity and scaling`, async () => {
        const ng = mocks.one(MNG, role).inputs;
        const pool = role === "system" ? config.systemPool : config.runnerPool;
        assert.equal(ng.cluster.__pulumiType, EKS_CLUSTER);
        assert.equal(ng.nodeGroupNamePrefix, `${config.cluster.name}-${role}-`);
        assert.deepEqual(ng.launchTemplate, { id: `lt-${role}-nodes`, version: "1" });
        assert.deepEqual(ng.instanceTypes, pool.instanceTypes);
        assert.equal(ng.capacityType, pool.capacityType);
        assert.deepEqual(ng.scalingConfig, {
          minSize: pool.minSize,
          maxSize: pool.maxSize,
          desiredSize: pool.desiredSize,
        });
        assert.equal(ng.amiType, "AL2023_x86_64_STANDARD");
        assert.equal(ng.version, config.cluster.kubernetesVersion);
        assert.deepEqual(
          ng.subnetIds.length,
          config.cluster.network.mode === "create" ? config.cluster.network.availabilityZoneCount : 0,
        );
        assert.equal(ng.nodeRoleArn, `arn:aws:iam::123456789012:role/${role}-node`);
        // Settings that would make the component build its own template (without our SGs) are absent.
        for (const f of [
          "diskSize",
          "enableIMDSv2",
          "kubeletExtraArgs",
          "bootstrapExtraArgs",
          "userData",
          "amiId",
        ])
          assert.equal(ng[f], undefined, f);
        const policies = mocks
          .ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
          .filter((a) => a.name.startsWith(`${role}-node-`))
          .map((a) => a.inputs.policyArn)
          .sort();
        assert.deepEqual(policies, [
          "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
          "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
          "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
          "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        ]);
      });
    }

    it("labels and taints the runner pool, and only the runner pool", () => {
      const { labelKey: k, labelValue: v } = config.isolation;
      const runner = mocks.one(MNG, "runner").inputs;
      assert.deepEqual(runner.labels, { [k]: v });
      assert.deepEqual(runner.taints, [{ key: k, value: v, effect: "NO_SCHEDULE" }]);
      assert.equal(runner.ignoreScalingChanges, true);
      const system = mocks.one(MNG, "system").inputs;
      assert.deepEqual(system.labels ?? {}, {});
      assert.deepEqual(system.taints ?? [], []);
      assert.notEqual(system.ignoreScalingChanges, true);
    });

    it("tags the runner pool's Auto Scaling group for scale-from-zero, and nothing else", () => {
      const { labelKey: k, labelValue: v } = config.isolation;
      const tags = mocks.ofType("aws:autoscaling/tag:Tag").map((t) => t.inputs);
      const asg = `eks-${config.cluster.name}-runner-20261122035500000000000001-a1b2c3d4`;
      assert.deepEqual(
        tags.map((t) => [t.autoscalingGroupName, t.tag.key, t.tag.value, t.tag.propagateAtLaunch]).sort(),
        [
          [asg, `k8s.io/cluster-autoscaler/node-template/label/${k}`, v, false],
          [
            asg,
            "k8s.io/cluster-autoscaler/node-template/resources/ephemeral-storage",
            `${config.runnerPool.diskSizeGb}Gi`,
            false,
          ],
          [asg, `k8s.io/cluster-autoscaler/node-template/taint/${k}`, `${v}:NoSchedule`, false],
        ],
      );
    });

    it("installs CoreDNS as a managed add-on for the cluster's Kubernetes version", () => {
      const addon = mocks.one("aws:eks/addon:Addon", "coredns").inputs;
      assert.equal(addon.addonName, "coredns");
      assert.equal(addon.clusterName, config.cluster.name);
      assert.equal(addon.addonVersion, "v1.12.1-eksbuild.2");
      const lookup = mocks.invokes.find((c) => c.token === "aws:eks/getAddonVersion:getAddonVersion");
      assert.equal(lookup?.inputs.kubernetesVersion, config.cluster.kubernetesVersion);
    });

    it("exports the outputs, the kubeconfig as a secret", async () => {
      const o = deployed.outputs;
      assert.equal(await valueOf(o.clusterName), config.cluster.name);
      assert.equal(await pulumi.isSecret(o.kubeconfig), true);
      assert.match(await valueOf(o.kubeconfig), /"kind":"Config"/);
      assert.match(await valueOf(o.oidcProviderArn), /^arn:aws:iam::\d{12}:oidc-provider\//);
      assert.equal(
        await valueOf(o.runnerPoolName),
        `${config.cluster.name}-runner-20261122035500000000000001`,
      );
      assert.equal(o.isolationLabel, `${config.isolation.labelKey}=${config.isolation.labelValue}`);
      assert.equal(
        o.isolationTaint,
        `${config.isolation.labelKey}=${config.isolation.labelValue}:NoSchedule`,
      );
    });

    it("registers nothing unexpected", () => {
      const types = [...new Set(mocks.resources.map((r: RecordedResource) => r.type))].sort();
      assert.deepEqual(
        types,
        [
          "aws:autoscaling/tag:Tag",
          "aws:ec2/eip:Eip",
          "aws:ec2/internetGateway:InternetGateway",
          "aws:ec2/launchTemplate:LaunchTemplate",
          "aws:ec2/natGateway:NatGateway",
          "aws:ec2/routeTable:RouteTable",
          "aws:ec2/routeTableAssociation:RouteTableAssociation",
          "aws:ec2/securityGroup:SecurityGroup",
          "aws:ec2/subnet:Subnet",
          "aws:ec2/vpc:Vpc",
          "aws:eks/addon:Addon",
          "aws:iam/role:Role",
          "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
          "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
          "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          "eks:index:Cluster",
          "eks:index:ManagedNodeGroup",
          "kubernetes:core/v1:Namespace",
          "kubernetes:core/v1:Secret",
          "kubernetes:helm.sh/v3:Release",
          "kubernetes:rbac.authorization.k8s.io/v1:Role",
          "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
          "pulumi-nodejs:dynamic/gitlab-eks:AgentEnvironment",
          "pulumi-nodejs:dynamic/gitlab-eks:AgentToken",
          "pulumi-nodejs:dynamic/gitlab-eks:AgentTokenRetirement",
          "pulumi-nodejs:dynamic/gitlab-eks:ClusterAgent",
          "pulumi-nodejs:dynamic/gitlab-eks:RepositoryFile",
          "pulumi:providers:kubernetes",
          ...(config.runner ? RUNNER_TYPES : []),
          ...(config.runner?.cache.enabled ? RUNNER_CACHE_TYPES : []),
          ...(config.autoscaler ? AUTOSCALER_TYPES : []),
          ...(config.autoscaler?.headroom.nodes ? HEADROOM_TYPES : []),
          // installMethod flux (production): Flux's GitRepository and Kustomization, its deploy token and
          // the token's retirement (test/flux-stack.test.ts).
          ...(config.agents[0]?.installMethod === "flux"
            ? [
                "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
                "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
                "pulumi-nodejs:dynamic/gitlab-eks:FluxDeployToken",
                "pulumi-nodejs:dynamic/gitlab-eks:FluxDeployTokenRetirement",
              ]
            : []),
        ]
          .filter((t, i, all) => all.indexOf(t) === i)
          .sort(),
      );
    });
  });
}

describe("Pulumi program with an existing VPC", () => {
  it("creates no network and hands the given subnets to the cluster and node groups", async () => {
    const config = requireValidConfig({
      project: "gitlab-eks",
      stack: "byo-vpc",
      env: {},
      values: {
        "aws:region": "eu-west-1",
        "gitlab-eks:gitlab": { agentProject: "platform/clusters" },
        "gitlab-eks:cluster": {
          vpcId: "vpc-0123456789abcdef0",
          privateSubnetIds: ["subnet-0000000000000000a", "subnet-0000000000000000b"],
          publicSubnetIds: ["subnet-0000000000000000c"],
          endpointPublicAccess: false,
        },
      },
    });
    const { mocks } = await deploy("byo-vpc", config);
    assert.equal(mocks.ofType("aws:ec2/vpc:Vpc").length, 0);
    assert.equal(mocks.ofType("aws:ec2/subnet:Subnet").length, 0);
    assert.equal(mocks.ofType("aws:ec2/natGateway:NatGateway").length, 0);
    const cluster = mocks.ofType("eks:index:Cluster")[0].inputs;
    assert.equal(cluster.vpcId, "vpc-0123456789abcdef0");
    assert.deepEqual(cluster.privateSubnetIds, ["subnet-0000000000000000a", "subnet-0000000000000000b"]);
    assert.deepEqual(cluster.publicSubnetIds, ["subnet-0000000000000000c"]);
    assert.equal(cluster.endpointPublicAccess, false);
    assert.equal(cluster.publicAccessCidrs, undefined);
    assert.equal(
      mocks.one("aws:ec2/securityGroup:SecurityGroup", "internal-networking").inputs.vpcId,
      "vpc-0123456789abcdef0",
    );
    assert.deepEqual(mocks.one("eks:index:ManagedNodeGroup", "runner").inputs.subnetIds, [
      "subnet-0000000000000000a",
      "subnet-0000000000000000b",
    ]);
  });
});

describe("Pulumi program config loading", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it("reads structured config as Pulumi hands it over (JSON text) and validates it", async () => {
    const files = readStackFiles(ROOT, "production");
    const expected = requireValidConfig({
      project: "gitlab-eks",
      stack: "production",
      values: files.values,
      env: {},
    });
    await pulumi.runtime.setMocks(new RecordingMocks(), "gitlab-eks", "production", false);
    pulumi.runtime.setAllConfig(
      Object.fromEntries(
        Object.entries(files.values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      ),
    );
    const { configFromPulumi } = await import("../infra/cloud/config");
    assert.deepEqual(configFromPulumi(), expected);
  });

  it("stops with every problem and registers nothing when the config is bad", async () => {
    const mocks = new RecordingMocks();
    await pulumi.runtime.setMocks(mocks, "gitlab-eks", "broken", false);
    pulumi.runtime.setAllConfig({
      "gitlab-eks:cluster": JSON.stringify({ kubernetesVersion: "1.28", vpcCidr: "10.0.0.0/16" }),
      "gitlab-eks:runnerPool": JSON.stringify({ minSize: 3, maxSize: 1 }),
    });
    const { configFromPulumi } = await import("../infra/cloud/config");
    assert.throws(
      () => configFromPulumi(),
      (e: unknown) => {
        assert.ok(e instanceof pulumi.RunError, "a RunError prints without a stack trace");
        assert.match(e.message, /Stack "broken": 4 configuration problems/);
        assert.match(e.message, /gitlab-eks:gitlab\.agentProject: is not set/);
        assert.match(e.message, /gitlab-eks:cluster\.kubernetesVersion: Kubernetes "1\.28"/);
        assert.match(e.message, /gitlab-eks:runnerPool\.minSize: \(3\) is greater than/);
        assert.match(e.message, /aws:region: is not set/);
        assert.match(e.message, /Nothing was created/);
        return true;
      },
    );
    assert.equal(mocks.resources.length, 0);
  });
});
