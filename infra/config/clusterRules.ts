/**
 * Cross-setting rules of the cluster's own sections: the AWS region, `gitlab-eks:cluster` (network,
 * endpoints), the node pools and the isolation label. Each returns the validated section, or undefined
 * after pushing its problems.
 */
import { labelKeyProblem, labelValueProblem } from "../core/labels";
import { architectureOf } from "../core/instances";
import { subnetPlanProblem } from "../core/cidr";
import { Problem, show } from "./problems";
import {
  AWS_REGION,
  CLUSTER_NAME,
  MAX_CLUSTER_NAME_LENGTH,
  NAMESPACE,
  POOL_DEFAULTS,
  type Sections,
} from "./schema";
import type { ClusterConfig, NetworkConfig, PoolConfig } from "./types";

export function regionOf(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
  problems: Problem[],
) {
  const configured = values["aws:region"];
  const region = configured ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const from = configured !== undefined ? "" : " (from the environment)";
  if (region === undefined || region === "") {
    problems.push({
      key: "aws:region",
      message: "is not set; the stack needs an AWS region. Fix: pulumi config set aws:region eu-west-1",
    });
    return undefined;
  }
  if (typeof region !== "string" || !AWS_REGION.test(region)) {
    problems.push({
      key: "aws:region",
      message: `${show(region)}${from} is not an AWS region name such as eu-west-1. Fix: pulumi config set aws:region eu-west-1`,
    });
    return undefined;
  }
  return region;
}

export function checkCluster(
  c: NonNullable<Sections["cluster"]>,
  raw: unknown,
  bad: (field: string) => boolean,
  input: { project: string; stack: string },
  problems: Problem[],
): ClusterConfig | undefined {
  const key = (field: string) => `${NAMESPACE}:cluster.${field}`;
  const before = problems.length;
  const given = (field: string) => typeof raw === "object" && raw !== null && field in raw;

  let name = c.name;
  if (name === undefined && !bad("name")) {
    name = `${input.project}-${input.stack}`;
    if (!CLUSTER_NAME.test(name) || name.length > MAX_CLUSTER_NAME_LENGTH) {
      problems.push({
        key: key("name"),
        message:
          `is not set and the default "${name}" (<project>-<stack>) is not a usable cluster name ` +
          `(letters, digits and '-', at most ${MAX_CLUSTER_NAME_LENGTH} characters). Fix: pulumi config set --path '${key("name")}' <name>`,
      });
    }
  }

  let network: NetworkConfig | undefined;
  const networkFields = [
    "vpcCidr",
    "vpcId",
    "privateSubnetIds",
    "publicSubnetIds",
    "availabilityZones",
    "availabilityZoneCount",
  ];
  if (networkFields.some(bad)) {
    // A bad network field was reported already; rules relating them would only guess.
  } else {
    const subnetsGiven = c.privateSubnetIds !== undefined || c.publicSubnetIds !== undefined;
    if (c.vpcCidr !== undefined && c.vpcId !== undefined) {
      problems.push({
        key: key("vpcId"),
        message:
          "is set together with cluster.vpcCidr; set vpcCidr to create a new VPC, or vpcId (with privateSubnetIds) " +
          `to use an existing one, not both. Fix: pulumi config rm --path '${key("vpcCidr")}' or '${key("vpcId")}'`,
      });
    } else if (c.vpcCidr === undefined && c.vpcId === undefined) {
      problems.push({
        key: key("vpcCidr"),
        message:
          "neither cluster.vpcCidr nor cluster.vpcId is set; the cluster needs a network. " +
          `Fix: pulumi config set --path '${key("vpcCidr")}' 10.0.0.0/16 to create a VPC, or set cluster.vpcId and cluster.privateSubnetIds to use an existing one`,
      });
    } else if (c.vpcCidr !== undefined) {
      if (subnetsGiven) {
        const field = c.privateSubnetIds !== undefined ? "privateSubnetIds" : "publicSubnetIds";
        problems.push({
          key: key(field),
          message:
            "is set without cluster.vpcId; subnet ids belong to an existing VPC, while vpcCidr creates a new one with its own subnets. " +
            `Fix: pulumi config rm --path '${key(field)}', or replace vpcCidr with vpcId`,
        });
      }
      const zones = c.availabilityZones;
      if (zones !== undefined && new Set(zones).size !== zones.length)
        problems.push({
          key: key("availabilityZones"),
          message: `lists a zone twice. Fix: list each zone once`,
        });
      if (zones !== undefined && zones.length < 2)
        problems.push({
          key: key("availabilityZones"),
          message: `lists ${zones.length} zone; EKS needs subnets in at least 2. Fix: list two or more zones`,
        });
      if (
        zones !== undefined &&
        c.availabilityZoneCount !== undefined &&
        c.availabilityZoneCount !== zones.length
      )
        problems.push({
          key: key("availabilityZoneCount"),
          message: `is ${c.availabilityZoneCount} but cluster.availabilityZones lists ${zones.length}; set one of them. Fix: pulumi config rm --path '${key("availabilityZoneCount")}'`,
        });
      const count = zones?.length ?? c.availabilityZoneCount ?? 2;
      const planProblem = subnetPlanProblem(c.vpcCidr, count);
      if (planProblem)
        problems.push({
          key: key("vpcCidr"),
          message: `${planProblem}. Fix: pulumi config set --path '${key("vpcCidr")}' 10.0.0.0/16`,
        });
      network = {
        mode: "create",
        vpcCidr: c.vpcCidr,
        availabilityZones: zones,
        availabilityZoneCount: count,
        natGateways: c.natGateways ?? "single",
      };
    } else {
      for (const field of ["availabilityZones", "availabilityZoneCount", "natGateways"] as const) {
        if (given(field))
          problems.push({
            key: key(field),
            message: `only applies to a VPC this stack creates (cluster.vpcCidr), but cluster.vpcId is set. Fix: pulumi config rm --path '${key(field)}'`,
          });
      }
      const privateIds = c.privateSubnetIds ?? [];
      if (privateIds.length < 2)
        problems.push({
          key: key("privateSubnetIds"),
          message:
            `${c.privateSubnetIds ? `lists ${privateIds.length} subnet` : "is not set"}; with cluster.vpcId, list the VPC's private subnets ` +
            `for nodes, in at least 2 availability zones. Fix: pulumi config set --path '${key("privateSubnetIds[0]")}' subnet-...`,
        });
      network = {
        mode: "existing",
        vpcId: c.vpcId as string,
        privateSubnetIds: privateIds,
        publicSubnetIds: c.publicSubnetIds ?? [],
      };
    }
  }

  if (c.endpointPublicAccess === false && c.endpointPrivateAccess === false)
    problems.push({
      key: key("endpointPublicAccess"),
      message:
        "and cluster.endpointPrivateAccess are both false; nothing could reach the Kubernetes API. " +
        `Fix: pulumi config set --path '${key("endpointPrivateAccess")}' true`,
    });
  if (c.endpointPublicAccess === false && c.publicAccessCidrs !== undefined)
    problems.push({
      key: key("publicAccessCidrs"),
      message: `is set but cluster.endpointPublicAccess is false, so it would have no effect. Fix: pulumi config rm --path '${key("publicAccessCidrs")}'`,
    });

  if (problems.length > before || !network || !name) return undefined;
  return {
    name,
    kubernetesVersion: c.kubernetesVersion,
    network,
    endpointPublicAccess: c.endpointPublicAccess,
    endpointPrivateAccess: c.endpointPrivateAccess,
    publicAccessCidrs: c.endpointPublicAccess ? (c.publicAccessCidrs ?? ["0.0.0.0/0"]) : [],
    adminRoleArns: [...new Set(c.adminRoleArns)],
    logTypes: [...new Set(c.logTypes)],
  };
}

export function checkPool(
  field: "systemPool" | "runnerPool",
  role: "system" | "runner",
  p: NonNullable<Sections["systemPool"]>,
  bad: (field: string) => boolean,
  problems: Problem[],
): PoolConfig | undefined {
  const key = (f: string) => `${NAMESPACE}:${field}.${f}`;
  const before = problems.length;
  const d = POOL_DEFAULTS[role];
  const instanceTypes = p.instanceTypes ?? [...d.instanceTypes];
  const minSize = p.minSize ?? Math.min(d.minSize, p.maxSize ?? d.minSize);
  const maxSize = p.maxSize ?? Math.max(d.maxSize, minSize);
  const desiredSize = p.desiredSize ?? Math.min(Math.max(d.desiredSize, minSize), maxSize);

  if (!bad("minSize") && !bad("maxSize") && minSize > maxSize)
    problems.push({
      key: key("minSize"),
      message: `(${minSize}) is greater than ${field}.maxSize (${maxSize}). Fix: lower minSize or raise maxSize (pulumi config set --path '${key("maxSize")}' ${minSize})`,
    });
  else if (
    !["minSize", "maxSize", "desiredSize"].some(bad) &&
    (desiredSize < minSize || desiredSize > maxSize)
  )
    problems.push({
      key: key("desiredSize"),
      message: `(${desiredSize}) is outside [minSize, maxSize] = [${minSize}, ${maxSize}]. Fix: pulumi config set --path '${key("desiredSize")}' ${Math.min(Math.max(desiredSize, minSize), maxSize)}`,
    });
  if (role === "system" && maxSize < 1)
    problems.push({
      key: key("maxSize"),
      message: `must be at least 1: the system pool runs CoreDNS and the agent. Fix: pulumi config set --path '${key("maxSize")}' 2`,
    });

  if (bad("instanceTypes")) return undefined;
  const archs = new Set(instanceTypes.map(architectureOf));
  if (archs.size > 1)
    problems.push({
      key: key("instanceTypes"),
      message:
        `mixes arm64 (Graviton) and x86_64 instance types (${instanceTypes.join(", ")}); one node group runs one AMI architecture. ` +
        `Fix: list types of one architecture`,
    });
  if (new Set(instanceTypes).size !== instanceTypes.length)
    problems.push({
      key: key("instanceTypes"),
      message: `lists an instance type twice. Fix: list each type once`,
    });

  if (problems.length > before) return undefined;
  return {
    instanceTypes,
    capacityType: p.capacityType,
    minSize,
    maxSize,
    desiredSize,
    diskSizeGb: p.diskSizeGb ?? d.diskSizeGb,
  };
}

export function checkIsolation(
  i: NonNullable<Sections["isolation"]>,
  bad: (field: string) => boolean,
  problems: Problem[],
) {
  const before = problems.length;
  if (bad("labelKey") || bad("labelValue")) return undefined;
  const keyProblem = labelKeyProblem(i.labelKey);
  if (keyProblem)
    problems.push({
      key: `${NAMESPACE}:isolation.labelKey`,
      message: `${show(i.labelKey)} is not a valid Kubernetes label key: ${keyProblem}. Fix: pulumi config set --path '${NAMESPACE}:isolation.labelKey' workload`,
    });
  const valueProblem = labelValueProblem(i.labelValue);
  if (valueProblem)
    problems.push({
      key: `${NAMESPACE}:isolation.labelValue`,
      message: `${valueProblem}. Fix: pulumi config set --path '${NAMESPACE}:isolation.labelValue' gitlab-runner`,
    });
  return problems.length > before ? undefined : i;
}
