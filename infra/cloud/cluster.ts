/** The EKS control plane: API authentication mode, access entries, OIDC (IRSA), control-plane logs. */
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import type { Network } from "./network";

export const CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy";

export function createCluster(
  config: StackConfig,
  network: Network,
  tags: Record<string, string>,
): eks.Cluster {
  const c = config.cluster;
  const partition = aws.getPartitionOutput().partition;
  const accessEntries: Record<string, eks.types.input.AccessEntryArgs> = {};
  c.adminRoleArns.forEach((principalArn, i) => {
    accessEntries[`admin-${i}`] = {
      principalArn,
      type: eks.AccessEntryType.Standard,
      accessPolicies: {
        admin: {
          policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/${CLUSTER_ADMIN_POLICY}`,
          accessScope: { type: "cluster" },
        },
      },
    };
  });

  return new eks.Cluster(
    "cluster",
    {
      name: c.name,
      version: c.kubernetesVersion,
      vpcId: network.vpcId,
      privateSubnetIds: network.privateSubnetIds,
      ...(network.publicSubnetIds.length ? { publicSubnetIds: network.publicSubnetIds } : {}),
      endpointPublicAccess: c.endpointPublicAccess,
      endpointPrivateAccess: c.endpointPrivateAccess,
      ...(c.endpointPublicAccess ? { publicAccessCidrs: c.publicAccessCidrs } : {}),
      // Managed node groups only, with our own launch templates and security groups (see nodePools.ts).
      skipDefaultNodeGroup: true,
      skipDefaultSecurityGroups: true,
      nodeAssociatePublicIpAddress: false,
      authenticationMode: eks.AuthenticationMode.Api,
      accessEntries,
      createOidcProvider: true,
      enabledClusterLogTypes: c.logTypes,
      // CoreDNS is installed as a managed add-on AFTER the system pool exists (nodePools.ts): created here,
      // before any node, the add-on would wait on pods that cannot schedule.
      corednsAddonOptions: { enabled: false },
      tags,
    },
    { dependsOn: network.resources },
  );
}
