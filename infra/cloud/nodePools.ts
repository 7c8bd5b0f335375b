/**
 * The two managed node groups, each with its own launch template. Our launch template (not the
 * component's) because only it can carry the shared internal-networking security group, which must
 * reach every node including those added later by scaling; the EKS primary cluster security group has
 * to be listed as well, since EKS adds it only when the template lists none.
 */
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { toEksEffect } from "../model/isolation";
import { desiredNodePools, NodePool, PoolRole } from "../model/nodePools";
import type { Network } from "./network";

export const NODE_POLICIES = [
  "AmazonEKSWorkerNodePolicy",
  "AmazonEKS_CNI_Policy",
  "AmazonEC2ContainerRegistryReadOnly",
  "AmazonSSMManagedInstanceCore",
];

export interface Pool {
  spec: NodePool;
  role: aws.iam.Role;
  launchTemplate: aws.ec2.LaunchTemplate;
  nodeGroup: eks.ManagedNodeGroup;
  /** The node group's name in EKS. */
  name: pulumi.Output<string>;
}

export interface NodePools {
  sharedSecurityGroup: aws.ec2.SecurityGroup;
  pools: Record<PoolRole, Pool>;
  coredns: aws.eks.Addon;
  resources: pulumi.Resource[];
}

export function createNodePools(
  config: StackConfig,
  cluster: eks.Cluster,
  network: Network,
  tags: Record<string, string>,
): NodePools {
  const resources: pulumi.Resource[] = [];
  const keep = <T extends pulumi.Resource>(r: T) => (resources.push(r), r);
  const name = config.cluster.name;
  const partition = aws.getPartitionOutput().partition;

  // Nodes of both pools (and anything else given this group) talk to each other freely.
  const sharedSecurityGroup = keep(
    new aws.ec2.SecurityGroup("internal-networking", {
      namePrefix: `${name}-internal-networking-`,
      description: `${name}: internal networking between node pools`,
      vpcId: network.vpcId,
      tags: { ...tags, Name: `${name}-internal-networking` },
    }),
  );
  keep(
    new aws.vpc.SecurityGroupIngressRule("internal-networking-self", {
      securityGroupId: sharedSecurityGroup.id,
      referencedSecurityGroupId: sharedSecurityGroup.id,
      ipProtocol: "-1",
      description: "All traffic between members of this group",
      tags: { ...tags, Name: `${name}-internal-networking` },
    }),
  );
  keep(
    new aws.vpc.SecurityGroupEgressRule("internal-networking-egress", {
      securityGroupId: sharedSecurityGroup.id,
      cidrIpv4: "0.0.0.0/0",
      ipProtocol: "-1",
      description: "Outbound traffic (image pulls, GitLab, AWS APIs)",
      tags: { ...tags, Name: `${name}-internal-networking-egress` },
    }),
  );

  // The EKS-created primary cluster security group (not the component's clusterSecurityGroupId).
  const primarySecurityGroupId = cluster.eksCluster.apply((c) => c.vpcConfig.clusterSecurityGroupId);

  const pools = {} as Record<PoolRole, Pool>;
  for (const spec of desiredNodePools(config)) {
    const role = keep(
      new aws.iam.Role(`${spec.role}-node`, {
        namePrefix: `${name}-${spec.role}-`,
        description: `${spec.name} nodes`,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
        tags,
      }),
    );
    const attachments = NODE_POLICIES.map((policy) =>
      keep(
        new aws.iam.RolePolicyAttachment(`${spec.role}-node-${policy}`, {
          role: role.name,
          policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`,
        }),
      ),
    );
    const instanceTags = { ...tags, Name: spec.name, "gitlab-eks:pool": spec.role };
    const launchTemplate = keep(
      new aws.ec2.LaunchTemplate(`${spec.role}-nodes`, {
        namePrefix: `${spec.name}-`,
        description: `${spec.name} nodes`,
        vpcSecurityGroupIds: [primarySecurityGroupId, sharedSecurityGroup.id],
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: spec.imdsHopLimit,
          instanceMetadataTags: "disabled",
        },
        blockDeviceMappings: [
          {
            deviceName: "/dev/xvda",
            ebs: {
              volumeSize: spec.diskSizeGb,
              volumeType: "gp3",
              encrypted: "true",
              deleteOnTermination: "true",
            },
          },
        ],
        tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({
          resourceType,
          tags: instanceTags,
        })),
        updateDefaultVersion: true,
        tags,
      }),
    );
    const nodeGroup = keep(
      new eks.ManagedNodeGroup(
        spec.role,
        {
          cluster,
          nodeGroupNamePrefix: `${spec.name}-`,
          nodeRoleArn: role.arn,
          subnetIds: network.privateSubnetIds,
          instanceTypes: spec.instanceTypes,
          capacityType: spec.capacityType,
          amiType: spec.amiType,
          version: config.cluster.kubernetesVersion,
          scalingConfig: { minSize: spec.minSize, maxSize: spec.maxSize, desiredSize: spec.desiredSize },
          ignoreScalingChanges: spec.ignoreScalingChanges,
          labels: spec.labels,
          taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: toEksEffect(t.effect) })),
          launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
          tags: { ...tags, "gitlab-eks:pool": spec.role },
        },
        { dependsOn: attachments },
      ),
    );
    const eksNodeGroup = nodeGroup.nodeGroup;
    const asgName = eksNodeGroup
      .apply((ng) => ng.resources)
      .apply((r) => {
        const asg = r?.[0]?.autoscalingGroups?.[0]?.name;
        if (!asg) throw new Error(`node group ${spec.name} reports no Auto Scaling group`);
        return asg;
      });
    for (const [key, value] of Object.entries(spec.autoscalerTags)) {
      keep(
        new aws.autoscaling.Tag(`${spec.role}-asg-${key.replace(/[^A-Za-z0-9]+/g, "-")}`, {
          autoscalingGroupName: asgName,
          // Not propagated: the autoscaler reads these from the group; nodes get the real label/taint from EKS.
          tag: { key, value, propagateAtLaunch: false },
        }),
      );
    }
    pools[spec.role] = {
      spec,
      role,
      launchTemplate,
      nodeGroup,
      name: eksNodeGroup.apply((ng) => ng.nodeGroupName),
    };
  }

  const addonVersion = aws.eks.getAddonVersionOutput({
    addonName: "coredns",
    kubernetesVersion: config.cluster.kubernetesVersion,
    mostRecent: true,
  });
  const coredns = keep(
    new aws.eks.Addon(
      "coredns",
      {
        clusterName: cluster.eksCluster.apply((c) => c.name),
        addonName: "coredns",
        addonVersion: addonVersion.version,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "PRESERVE",
        tags,
      },
      { dependsOn: [pools.system.nodeGroup] },
    ),
  );

  return { sharedSecurityGroup, pools, coredns, resources };
}
