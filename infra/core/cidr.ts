/**
 * IPv4 CIDR blocks: syntax, the network address (no host bits set) as AWS checks it, and whether a VPC
 * block can hold the subnet plan (model/network.ts: half private, half public, one block per zone).
 */

export const IPV4_CIDR =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** The block's own network address form (`203.0.113.7/24` -> `203.0.113.0/24`). */
export function networkOf(cidr: string): string {
  const [ip, prefixText] = cidr.split("/");
  const prefix = Number(prefixText);
  const n = ipToInt(ip);
  return `${intToIp(n - (n % 2 ** (32 - prefix)))}/${prefix}`;
}

/** Why a syntactically valid CIDR block is not a network address, or undefined when it is. */
export function hostBitsProblem(cidr: string): string | undefined {
  const network = networkOf(cidr);
  if (network === cidr) return undefined;
  const [ip, prefix] = cidr.split("/");
  return `${ip} is not the first address of a /${prefix} block (host bits are set); use ${network}`;
}

/**
 * The smallest subnet we plan, /24 (251 usable addresses): the VPC CNI gives every pod an address from its
 * node's subnet, so a smaller one runs out after a few nodes.
 */
export const MAX_SUBNET_PREFIX = 24;

export function subnetPrefixFor(vpcPrefix: number, zoneCount: number): number {
  return vpcPrefix + 1 + Math.ceil(Math.log2(zoneCount));
}

/** Why `vpcCidr` cannot hold `zoneCount` zones, or undefined when it can. */
export function subnetPlanProblem(vpcCidr: string, zoneCount: number): string | undefined {
  const prefix = Number(vpcCidr.split("/")[1]);
  if (prefix < 16 || prefix > 24)
    return `prefix /${prefix} is outside what AWS allows for a VPC we plan (/16 to /24)`;
  const hostBits = hostBitsProblem(vpcCidr);
  if (hostBits) return hostBits;
  const subnetPrefix = subnetPrefixFor(prefix, zoneCount);
  if (subnetPrefix > MAX_SUBNET_PREFIX)
    return `a /${prefix} split into ${zoneCount} private and ${zoneCount} public subnets gives /${subnetPrefix} subnets, smaller than /${MAX_SUBNET_PREFIX} (the VPC CNI gives every pod an address from its node's subnet); use a larger block (e.g. /16)`;
  return undefined;
}
