/**
 * Kubernetes label syntax (k8s.io/apimachinery validation: IsQualifiedName, IsValidLabelValue).
 * Each function returns what is wrong, or undefined when the input is valid.
 */
import { dnsSubdomainProblem } from "./kubernetes";

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * Prefixes the kubelet may not set on its own node (NodeRestriction) or that EKS reserves: a label there
 * would be refused when the node registers, and the pool would never get its label.
 */
const RESERVED_PREFIXES = ["kubernetes.io", "k8s.io", "eks.amazonaws.com"];

export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) return `more than one '/'; a label key is [prefix/]name`;
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined) {
    if (prefix.length === 0) return `the prefix before '/' is empty`;
    if (dnsSubdomainProblem(prefix) !== undefined)
      return `prefix ${JSON.stringify(prefix)} is not a DNS subdomain (lowercase letters, digits, '-' and '.')`;
    if (RESERVED_PREFIXES.some((r) => prefix === r || prefix.endsWith(`.${r}`)))
      return `prefix ${JSON.stringify(prefix)} is reserved for Kubernetes and EKS; nodes cannot carry it`;
  }
  if (name.length === 0) return `the name part is empty`;
  if (name.length > 63) return `the name part is ${name.length} characters; at most 63`;
  if (!NAME.test(name))
    return `the name part ${JSON.stringify(name)} must start and end with a letter or digit and contain only letters, digits, '-', '_' and '.'`;
  return undefined;
}

/** What is wrong with a label value, as a sentence about the value (`is empty; ...`), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return `is empty; the isolation label needs a value`;
  if (value.length > 63) return `is ${value.length} characters; a Kubernetes label value has at most 63`;
  if (!NAME.test(value))
    return `${JSON.stringify(value)} is not a valid Kubernetes label value: it must start and end with a letter or digit and contain only letters, digits, '-', '_' and '.'`;
  return undefined;
}
