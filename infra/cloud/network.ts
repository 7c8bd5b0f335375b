/** The VPC a stack creates (cluster.vpcCidr), or the existing one it is given (cluster.vpcId). */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/types";
import { planSubnets } from "../model/network";

export interface Network {
  vpcId: pulumi.Output<string>;
  privateSubnetIds: pulumi.Output<string>[];
  publicSubnetIds: pulumi.Output<string>[];
  resources: pulumi.Resource[];
}

export function createNetwork(config: StackConfig, tags: Record<string, string>): Network {
  const net = config.cluster.network;
  if (net.mode === "existing") {
    return {
      vpcId: pulumi.output(net.vpcId),
      privateSubnetIds: net.privateSubnetIds.map((id) => pulumi.output(id)),
      publicSubnetIds: net.publicSubnetIds.map((id) => pulumi.output(id)),
      resources: [],
    };
  }

  const name = config.cluster.name;
  const count = net.availabilityZoneCount;
  const plan = planSubnets(net.vpcCidr, count);
  const zones: pulumi.Output<string[]> = net.availabilityZones
    ? pulumi.output(net.availabilityZones)
    : aws
        .getAvailabilityZonesOutput({
          state: "available",
          filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
        })
        .names.apply((names) => {
          if (names.length < count)
            throw new Error(
              `gitlab-eks:cluster.availabilityZoneCount: ${config.region} has ${names.length} available zones, fewer than ${count}; lower availabilityZoneCount`,
            );
          return names.slice(0, count);
        });
  const resources: pulumi.Resource[] = [];
  const keep = <T extends pulumi.Resource>(r: T) => (resources.push(r), r);
  const clusterTag = { [`kubernetes.io/cluster/${name}`]: "shared" };

  const vpc = keep(
    new aws.ec2.Vpc("vpc", {
      cidrBlock: net.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { ...tags, Name: name },
    }),
  );
  const igw = keep(new aws.ec2.InternetGateway("igw", { vpcId: vpc.id, tags: { ...tags, Name: name } }));

  const publicSubnets = plan.public.map((cidr, i) =>
    keep(
      new aws.ec2.Subnet(`public-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: zones[i],
        mapPublicIpOnLaunch: false,
        tags: { ...tags, ...clusterTag, Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1" },
      }),
    ),
  );
  const privateSubnets = plan.private.map((cidr, i) =>
    keep(
      new aws.ec2.Subnet(`private-${i}`, {
        vpcId: vpc.id,
        cidrBlock: cidr,
        availabilityZone: zones[i],
        mapPublicIpOnLaunch: false,
        tags: {
          ...tags,
          ...clusterTag,
          Name: `${name}-private-${i}`,
          "kubernetes.io/role/internal-elb": "1",
        },
      }),
    ),
  );

  const publicRoutes = keep(
    new aws.ec2.RouteTable("public", {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: { ...tags, Name: `${name}-public` },
    }),
  );
  publicSubnets.forEach((s, i) =>
    keep(new aws.ec2.RouteTableAssociation(`public-${i}`, { subnetId: s.id, routeTableId: publicRoutes.id })),
  );

  const natCount = net.natGateways === "one-per-az" ? count : 1;
  const nats = Array.from({ length: natCount }, (_, i) => {
    const eip = keep(
      new aws.ec2.Eip(`nat-${i}`, { domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } }),
    );
    return keep(
      new aws.ec2.NatGateway(
        `nat-${i}`,
        { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: { ...tags, Name: `${name}-nat-${i}` } },
        { dependsOn: [igw] },
      ),
    );
  });
  privateSubnets.forEach((s, i) => {
    const routes = keep(
      new aws.ec2.RouteTable(`private-${i}`, {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[i % natCount].id }],
        tags: { ...tags, Name: `${name}-private-${i}` },
      }),
    );
    keep(new aws.ec2.RouteTableAssociation(`private-${i}`, { subnetId: s.id, routeTableId: routes.id }));
  });

  return {
    vpcId: vpc.id,
    privateSubnetIds: privateSubnets.map((s) => s.id),
    publicSubnetIds: publicSubnets.map((s) => s.id),
    resources,
  };
}
