/**
 * Subnet plan for a VPC this stack creates: the first half of the VPC CIDR holds the private subnets
 * (nodes), the second half the public ones (NAT gateways, internet-facing load balancers); each half is
 * split into equal blocks, one per availability zone (rounded up to a power of two).
 */
import { intToIp, ipToInt, subnetPlanProblem, subnetPrefixFor } from "../core/cidr";

export interface SubnetPlan {
  /** Private subnet CIDRs, one per zone, in zone order. */
  private: string[];
  /** Public subnet CIDRs, one per zone, in zone order. */
  public: string[];
  /** Prefix length of each subnet. */
  prefixLength: number;
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
