/**
 * Subnet plan for a VPC this stack creates: the first half of the VPC CIDR holds the private subnets
 * (nodes), the second half the public ones (NAT gateways, internet-facing load balancers); each half is
 * split into equal blocks, one per availability zone (rounded up to a power of two).
 */

export interface SubnetPlan {
  /** Private subnet CIDRs, one per zone, in zone order. */
  private: string[];
  /** Public subnet CIDRs, one per zone, in zone order. */
  public: string[];
  /** Prefix length of each subnet. */
  prefixLength: number;
}

/**
 * The smallest subnet we plan, /24 (251 usable addresses): the VPC CNI gives every pod an address from its
 * node's subnet, so a smaller one runs out after a few nodes.
 */
export const MAX_SUBNET_PREFIX = 24;

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function subnetPrefixFor(vpcPrefix: number, zoneCount: number): number {
  return vpcPrefix + 1 + Math.ceil(Math.log2(zoneCount));
}

/** Why `vpcCidr` cannot hold `zoneCount` zones, or undefined when it can. */
export function subnetPlanProblem(vpcCidr: string, zoneCount: number): string | undefined {
  const [ip, prefixText] = vpcCidr.split("/");
  const prefix = Number(prefixText);
  if (prefix < 16 || prefix > 24)
    return `prefix /${prefix} is outside what AWS allows for a VPC we plan (/16 to /24)`;
  if (ipToInt(ip) % 2 ** (32 - prefix) !== 0)
    return `${ip} is not the first address of a /${prefix} block (host bits are set); use ${intToIp(ipToInt(ip) - (ipToInt(ip) % 2 ** (32 - prefix)))}/${prefix}`;
  const subnetPrefix = subnetPrefixFor(prefix, zoneCount);
  if (subnetPrefix > MAX_SUBNET_PREFIX)
    return `a /${prefix} split into ${zoneCount} private and ${zoneCount} public subnets gives /${subnetPrefix} subnets, smaller than /${MAX_SUBNET_PREFIX} (the VPC CNI gives every pod an address from its node's subnet); use a larger block (e.g. /16)`;
  return undefined;
}

export function planSubnets(vpcCidr: string, zoneCount: number): SubnetPlan {
  const problem = subnetPlanProblem(vpcCidr, zoneCount);
  if (problem) throw new Error(`cannot plan subnets for ${vpcCidr}: ${problem}`);
  const [ip, prefixText] = vpcCidr.split("/");
  const prefix = Number(prefixText);
  const base = ipToInt(ip);
  const subnetPrefix = subnetPrefixFor(prefix, zoneCount);
  const size = 2 ** (32 - subnetPrefix);
  const half = 2 ** (32 - prefix - 1);
  const blocks = (start: number) =>
    Array.from({ length: zoneCount }, (_, i) => `${intToIp(start + i * size)}/${subnetPrefix}`);
  return { private: blocks(base), public: blocks(base + half), prefixLength: subnetPrefix };
}
