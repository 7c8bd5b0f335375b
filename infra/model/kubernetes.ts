/** Kubernetes name and quantity syntax. Each function returns what is wrong, or undefined when valid. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 DNS label: namespaces, Helm release names, GitLab agent names. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > 63) return `is ${value.length} characters; at most 63`;
  if (!DNS_LABEL.test(value))
    return `${JSON.stringify(value)} may contain only lowercase letters, digits and '-', and must start and end with a letter or digit`;
  return undefined;
}

const CPU = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** A CPU quantity such as 100m, 0.5 or 2. */
export function cpuQuantityProblem(value: string): string | undefined {
  return CPU.test(value) ? undefined : `${JSON.stringify(value)} is not a CPU quantity (e.g. 100m, 0.5, 2)`;
}

/** A memory quantity such as 128Mi, 1Gi or 500M. */
export function memoryQuantityProblem(value: string): string | undefined {
  return MEMORY.test(value)
    ? undefined
    : `${JSON.stringify(value)} is not a memory quantity (e.g. 128Mi, 1Gi)`;
}
