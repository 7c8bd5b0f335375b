/** Facts about EC2 instance types that need no AWS call. */

/** Graviton families carry a `g` after the generation digit (t4g, m7gd, c6gn, g5g); the rest are x86_64. */
export function architectureOf(instanceType: string): "arm64" | "x86_64" {
  const family = instanceType.split(".")[0];
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? "arm64" : "x86_64";
}

/** vCPUs and memory (MiB) of an instance type, as EC2 lists them. */
export interface InstanceShape {
  vcpu: number;
  memoryMiB: number;
}

/** Burstable t3/t3a/t4g sizes (EC2 instance types table). */
const BURSTABLE: Record<string, InstanceShape> = {
  micro: { vcpu: 2, memoryMiB: 1024 },
  small: { vcpu: 2, memoryMiB: 2048 },
  medium: { vcpu: 2, memoryMiB: 4096 },
  large: { vcpu: 2, memoryMiB: 8192 },
  xlarge: { vcpu: 4, memoryMiB: 16384 },
  "2xlarge": { vcpu: 8, memoryMiB: 32768 },
};
/** GiB per vCPU of the general purpose (m), compute (c) and memory (r) families of generation 5 to 8. */
const GIB_PER_VCPU: Record<string, number> = { m: 4, c: 2, r: 8 };

/**
 * The shape of t3/t3a/t4g and of m/c/r generations 5-8 (with a/i/g processor and d/n-free suffixes such as
 * m6i, m7g, c6a, r5d): `large` is 2 vCPUs, `xlarge` 4, `Nxlarge` 4N; memory follows the family. Other
 * types (c5n, x2, metal sizes, ...) return undefined: ask the user rather than guess.
 */
export function instanceShape(instanceType: string): InstanceShape | undefined {
  const [family, size] = instanceType.split(".");
  if (/^t(3a?|4g)$/.test(family)) return BURSTABLE[size];
  const m = /^([mcr])([5-8])(a|i|g)?d?$/.exec(family);
  if (!m) return undefined;
  const vcpu = size === "large" ? 2 : size === "xlarge" ? 4 : Number(/^(\d+)xlarge$/.exec(size)?.[1]) * 4;
  if (!Number.isInteger(vcpu) || vcpu <= 0) return undefined;
  return { vcpu, memoryMiB: vcpu * GIB_PER_VCPU[m[1]] * 1024 };
}

/** Share of a node's vCPUs and memory one headroom placeholder requests: the rest is for kubelet, system daemons and DaemonSets. */
export const PLACEHOLDER_SHARE = 0.7;

/**
 * Requests of one headroom placeholder pod: 70% of the smallest instance type of the pool, so it fits on
 * any runner node next to the node's reserved resources and DaemonSets, and a job that needs more than
 * the remaining 30% preempts it. Undefined when a type's shape is not known.
 */
export function placeholderSize(instanceTypes: string[]): { cpu: string; memory: string } | undefined {
  const shapes = instanceTypes.map(instanceShape);
  if (shapes.length === 0 || shapes.some((s) => s === undefined)) return undefined;
  const vcpu = Math.min(...shapes.map((s) => s!.vcpu));
  const memoryMiB = Math.min(...shapes.map((s) => s!.memoryMiB));
  return {
    cpu: `${Math.floor(vcpu * 1000 * PLACEHOLDER_SHARE)}m`,
    memory: `${Math.floor(memoryMiB * PLACEHOLDER_SHARE)}Mi`,
  };
}
