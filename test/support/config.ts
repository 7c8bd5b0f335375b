/** Helpers to validate config values the way a stack file would hold them. */
import { formatProblem } from "../../infra/config/problems";
import type { StackConfig } from "../../infra/config/types";
import { validateStackConfig } from "../../infra/config/validate";

/** A minimal valid stack: a region, a VPC CIDR and the agent's project; everything else defaults. */
export function minimal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "aws:region": "eu-west-1",
    "gitlab-eks:cluster": { vpcCidr: "10.0.0.0/16" },
    "gitlab-eks:gitlab": { agentProject: "platform/clusters" },
    ...overrides,
  };
}

export function problemsOf(values: Record<string, unknown>, stack = "dev"): string[] {
  const r = validateStackConfig({ project: "gitlab-eks", stack, values, env: {} });
  return r.ok ? [] : r.problems.map(formatProblem);
}

export function configOf(values: Record<string, unknown>, stack = "dev"): StackConfig {
  const r = validateStackConfig({ project: "gitlab-eks", stack, values, env: {} });
  if (!r.ok) throw new Error(`expected valid config, got:\n${r.problems.map(formatProblem).join("\n")}`);
  return r.config;
}
