/** Facts about EC2 instance types that need no AWS call. */

/** Graviton families carry a `g` after the generation digit (t4g, m7gd, c6gn, g5g); the rest are x86_64. */
export function architectureOf(instanceType: string): "arm64" | "x86_64" {
  const family = instanceType.split(".")[0];
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? "arm64" : "x86_64";
}
