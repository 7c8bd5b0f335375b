/**
 * What `gitlab-eks verify` says about Flux (`agent.installMethod: flux`): the Ready condition of the
 * Kustomization that applies the agent project's manifest folder, and of the agent's HelmRelease that
 * Flux installed from it. Pure: the objects are read by infra/cli/verify.ts.
 */
import type { AgentConfig } from "../config/agent";
import { FLUX_HELM_API, FLUX_KUSTOMIZE_API, fluxClusterObjects } from "./flux";

export interface FluxCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface FluxStatusObject {
  status?: { conditions?: FluxCondition[]; lastAppliedRevision?: string };
}

/** API paths of the two objects verify reads. */
export function fluxStatusPaths(agent: AgentConfig): { kustomization: string; helmRelease: string } {
  const ns = agent.flux.namespace;
  // The Kustomization's name comes from the object the stack creates (the URL plays no part in it).
  const kustomization = fluxClusterObjects(agent, "https://gitlab.invalid")[1].metadata.name;
  return {
    kustomization: `/apis/${FLUX_KUSTOMIZE_API}/namespaces/${ns}/kustomizations/${kustomization}`,
    helmRelease: `/apis/${FLUX_HELM_API}/namespaces/${ns}/helmreleases/${agent.releaseName}`,
  };
}

function readiness(
  what: string,
  o: FluxStatusObject | undefined,
  missing: string,
): { ok: boolean; text: string } {
  if (!o) return { ok: false, text: `${what}: not found; ${missing}` };
  const ready = o.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready) return { ok: false, text: `${what}: no Ready condition yet (Flux has not reconciled it)` };
  const detail = [ready.reason, ready.message].filter(Boolean).join(": ");
  return {
    ok: ready.status === "True",
    text: `${what}: Ready=${ready.status}${detail ? ` (${detail})` : ""}`,
  };
}

/**
 * Each line and problem starts with `prefix` (verify names the agent, `agent "apps" (gitlab-eks:agents[1]): `,
 * when several agents are installed through Flux).
 */
export function checkFluxStatus(
  agent: AgentConfig,
  kustomization: FluxStatusObject | undefined,
  helmRelease: FluxStatusObject | undefined,
  prefix = "",
): { lines: string[]; problems: string[] } {
  const paths = fluxStatusPaths(agent);
  const name = (p: string) => p.split("/namespaces/")[1].replace(/\/[^/]+\//, "/");
  const results = [
    readiness(
      `Flux Kustomization ${name(paths.kustomization)}`,
      kustomization,
      "is Flux installed (pulumi up)?",
    ),
    readiness(
      `Flux HelmRelease ${name(paths.helmRelease)}`,
      helmRelease,
      `Flux has not applied ${agent.flux.manifestPath} of ${agent.project} (branch ${agent.flux.branch}) yet`,
    ),
  ];
  return {
    lines: results.filter((r) => r.ok).map((r) => prefix + r.text),
    problems: results.filter((r) => !r.ok).map((r) => prefix + r.text),
  };
}
