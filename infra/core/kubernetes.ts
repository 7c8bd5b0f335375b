/** Kubernetes name syntax (quantities: quantity.ts). Each function returns what is wrong, or undefined when valid. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 DNS label: namespaces, Helm release names, GitLab agent names. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > 63) return `is ${value.length} characters; at most 63`;
  if (!DNS_LABEL.test(value))
    return `${JSON.stringify(value)} may contain only lowercase letters, digits and '-', and must start and end with a letter or digit`;
  return undefined;
}

/** RFC 1123 DNS subdomain (at most 253 characters, dot-separated labels): Secret and ConfigMap names. */
export function dnsSubdomainProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > 253) return `is ${value.length} characters; at most 253`;
  if (!value.split(".").every((label) => DNS_LABEL.test(label)))
    return `${JSON.stringify(value)} may contain only lowercase letters, digits, '-' and '.', and each part between dots must start and end with a letter or digit`;
  return undefined;
}
