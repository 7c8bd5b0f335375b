/**
 * Facts about EC2 instance types that need no AWS call: the families EC2 offers, the CPU architecture of
 * each, and the sizes each comes in (AWS "Amazon EC2 instance types" specifications). A family AWS
 * launches after this table was written is refused with a message saying so; add it here.
 */
import { closest } from "./suggest";

export type Architecture = "arm64" | "x86_64";

const T = ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"];
const UP_TO_16 = ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"];
const M5 = [...UP_TO_16, "24xlarge"];
const M6I = [...M5, "32xlarge", "metal"];
const M6A = [...M5, "32xlarge", "48xlarge", "metal"];
const M7I = [...M5, "48xlarge", "metal-24xl", "metal-48xl"];
const M7A = ["medium", ...M5, "32xlarge", "48xlarge", "metal-48xl"];
const M8I = [...M5, "32xlarge", "48xlarge", "96xlarge", "metal-48xl", "metal-96xl"];
const FLEX = UP_TO_16;
const C5 = ["large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge", "metal"];
const GRAVITON2 = ["medium", ...UP_TO_16, "metal"];
const MEDIUM_TO_48 = ["medium", ...M5, "48xlarge", "metal-24xl", "metal-48xl"];
const GPU_G5 = ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"];
const HIGH_MEMORY = ["56xlarge", "112xlarge", "224xlarge", "480xlarge", "metal"];

function families(arch: Architecture, names: string[], sizes: string[]) {
  return names.map((name) => [name, { arch, sizes }] as const);
}

/** Every EC2 instance family by name, with its architecture and sizes. */
export const EC2_FAMILIES: ReadonlyMap<string, { arch: Architecture; sizes: readonly string[] }> = new Map([
  // ---- x86_64 ----
  ...families("x86_64", ["t2", "t3", "t3a"], T),
  ...families("x86_64", ["m4"], ["large", "xlarge", "2xlarge", "4xlarge", "10xlarge", "16xlarge"]),
  ...families("x86_64", ["m5", "m5d", "m5n", "m5dn", "r5", "r5d", "r5n", "r5dn", "r5b"], [...M5, "metal"]),
  ...families("x86_64", ["m5a", "m5ad", "r5a", "r5ad", "c5a", "c5ad"], M5),
  ...families(
    "x86_64",
    ["m5zn", "z1d"],
    ["large", "xlarge", "2xlarge", "3xlarge", "6xlarge", "12xlarge", "metal"],
  ),
  ...families(
    "x86_64",
    ["m6i", "m6id", "m6in", "m6idn", "r6i", "r6id", "r6in", "r6idn", "c6i", "c6id", "c6in"],
    M6I,
  ),
  ...families("x86_64", ["m6a", "r6a", "c6a"], M6A),
  ...families("x86_64", ["m7i", "r7i", "c7i"], M7I),
  ...families("x86_64", ["m7i-flex", "c7i-flex", "m8i-flex", "c8i-flex", "r8i-flex"], FLEX),
  ...families("x86_64", ["m7a", "r7a", "c7a"], M7A),
  ...families("x86_64", ["m8i", "r8i", "c8i"], M8I),
  ...families("x86_64", ["m8a", "r8a", "c8a"], MEDIUM_TO_48),
  ...families("x86_64", ["c4"], ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge"]),
  ...families("x86_64", ["c5", "c5d"], C5),
  ...families("x86_64", ["c5n"], ["large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge", "metal"]),
  ...families("x86_64", ["r4"], ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
  ...families(
    "x86_64",
    ["r7iz"],
    [
      "large",
      "xlarge",
      "2xlarge",
      "4xlarge",
      "8xlarge",
      "12xlarge",
      "16xlarge",
      "32xlarge",
      "metal-16xl",
      "metal-32xl",
    ],
  ),
  ...families("x86_64", ["x1"], ["16xlarge", "32xlarge"]),
  ...families("x86_64", ["x1e"], ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "32xlarge"]),
  ...families("x86_64", ["x2idn"], ["16xlarge", "24xlarge", "32xlarge", "metal"]),
  ...families(
    "x86_64",
    ["x2iedn"],
    ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "24xlarge", "32xlarge", "metal"],
  ),
  ...families("x86_64", ["x2iezn"], ["2xlarge", "4xlarge", "6xlarge", "8xlarge", "12xlarge", "metal"]),
  ...families("x86_64", ["i3"], ["large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "metal"]),
  ...families(
    "x86_64",
    ["i3en"],
    ["large", "xlarge", "2xlarge", "3xlarge", "6xlarge", "12xlarge", "24xlarge", "metal"],
  ),
  ...families("x86_64", ["i4i"], M6I),
  ...families(
    "x86_64",
    ["i7ie"],
    [
      "large",
      "xlarge",
      "2xlarge",
      "3xlarge",
      "6xlarge",
      "12xlarge",
      "18xlarge",
      "24xlarge",
      "48xlarge",
      "metal-24xl",
      "metal-48xl",
    ],
  ),
  ...families("x86_64", ["d2", "d3"], ["xlarge", "2xlarge", "4xlarge", "8xlarge"]),
  ...families("x86_64", ["d3en"], ["xlarge", "2xlarge", "4xlarge", "6xlarge", "8xlarge", "12xlarge"]),
  ...families("x86_64", ["h1"], ["2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
  ...families(
    "x86_64",
    ["g4dn"],
    ["xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "metal"],
  ),
  ...families("x86_64", ["g4ad"], ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"]),
  ...families("x86_64", ["g5", "g6", "g6e"], GPU_G5),
  ...families("x86_64", ["gr6"], ["4xlarge", "8xlarge"]),
  ...families("x86_64", ["p3"], ["2xlarge", "8xlarge", "16xlarge"]),
  ...families("x86_64", ["p3dn", "p4d", "p4de"], ["24xlarge"]),
  ...families("x86_64", ["p5"], ["4xlarge", "48xlarge"]),
  ...families("x86_64", ["p5e", "p5en", "trn2", "hpc6a"], ["48xlarge"]),
  ...families("x86_64", ["inf1"], ["xlarge", "2xlarge", "6xlarge", "24xlarge"]),
  ...families("x86_64", ["inf2"], ["xlarge", "8xlarge", "24xlarge", "48xlarge"]),
  ...families("x86_64", ["trn1"], ["2xlarge", "32xlarge"]),
  ...families("x86_64", ["trn1n", "hpc6id"], ["32xlarge"]),
  ...families("x86_64", ["dl1"], ["24xlarge"]),
  ...families("x86_64", ["hpc7a"], ["12xlarge", "24xlarge", "48xlarge", "96xlarge"]),
  ...families("x86_64", ["vt1"], ["3xlarge", "6xlarge", "24xlarge"]),
  ...families("x86_64", ["f1"], ["2xlarge", "4xlarge", "16xlarge"]),
  ...families("x86_64", ["f2"], ["6xlarge", "12xlarge", "48xlarge"]),
  ...families(
    "x86_64",
    [
      "u-3tb1",
      "u-6tb1",
      "u-9tb1",
      "u-12tb1",
      "u-18tb1",
      "u-24tb1",
      "u7i-12tb",
      "u7in-16tb",
      "u7in-24tb",
      "u7in-32tb",
    ],
    HIGH_MEMORY,
  ),
  // ---- arm64 (AWS Graviton) ----
  ...families("arm64", ["a1"], ["medium", "large", "xlarge", "2xlarge", "4xlarge", "metal"]),
  ...families("arm64", ["t4g"], T),
  ...families("arm64", ["m6g", "m6gd", "r6g", "r6gd", "c6g", "c6gd", "x2gd"], GRAVITON2),
  ...families("arm64", ["c6gn"], ["medium", ...UP_TO_16]),
  ...families("arm64", ["m7g", "m7gd", "c7g", "c7gd", "c7gn", "r7g", "r7gd"], GRAVITON2),
  ...families(
    "arm64",
    ["im4gn", "i4g"],
    UP_TO_16.filter((s) => s !== "12xlarge"),
  ),
  ...families("arm64", ["is4gen"], ["medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge"]),
  ...families("arm64", ["g5g"], ["xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "metal"]),
  ...families("arm64", ["hpc7g"], ["4xlarge", "8xlarge", "16xlarge"]),
  ...families("arm64", ["m8g", "m8gd", "c8g", "c8gd", "c8gn", "r8g", "r8gd", "x8g"], MEDIUM_TO_48),
  ...families("arm64", ["i8g"], [...M5, "48xlarge", "metal-24xl"]),
]);

/** The CPU architecture of an instance type of the table; Graviton families are arm64. */
export function architectureOf(instanceType: string): Architecture {
  const family = instanceType.split(".")[0];
  const known = EC2_FAMILIES.get(family)?.arch;
  if (known) return known;
  // Not in the table (validation refuses such types): Graviton families carry a `g` after the generation.
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? "arm64" : "x86_64";
}

/**
 * What is wrong with an instance type (`family.size`), with the closest real one; undefined when EC2
 * offers it.
 */
export function instanceTypeProblem(
  instanceType: string,
): { problem: string; suggestion?: string } | undefined {
  const dot = instanceType.indexOf(".");
  const family = dot < 0 ? instanceType : instanceType.slice(0, dot);
  const size = dot < 0 ? "" : instanceType.slice(dot + 1);
  const known = EC2_FAMILIES.get(family);
  if (!known) {
    const close = closest(family, [...EC2_FAMILIES.keys()]);
    const sizeThere = close && EC2_FAMILIES.get(close)?.sizes.includes(size) ? size : undefined;
    return {
      problem: `${JSON.stringify(family)} is not an EC2 instance family this project knows (a family AWS launched recently belongs in infra/core/instances.ts)`,
      suggestion: close
        ? `${close}.${sizeThere ?? EC2_FAMILIES.get(close)?.sizes.find((s) => s === "large") ?? EC2_FAMILIES.get(close)?.sizes[0]}`
        : undefined,
    };
  }
  if (!known.sizes.includes(size)) {
    const close =
      closest(size, [...known.sizes]) ?? (known.sizes.includes("large") ? "large" : known.sizes[0]);
    return {
      problem: `${family} has no size ${JSON.stringify(size)}; its sizes are ${known.sizes.join(", ")}`,
      suggestion: `${family}.${close}`,
    };
  }
  return undefined;
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
