/**
 * Config for the GitOps install of the agent (`gitlab-eks:agent.installMethod: flux`, `agent.flux.*`) and
 * the rule that keeps the CI/CD workflow out of production (`agent.allowCiAccessInProduction`).
 */
import * as v from "valibot";
import { dnsLabelProblem } from "../core/kubernetes";
import { fix, pattern, section, text } from "./kit";
import type { Problem } from "./problems";

export const AGENT_INSTALL_METHODS = ["helm", "flux"] as const;
/** The fluxcd-community `flux2` chart installing Flux's controllers (installMethod flux). */
export const DEFAULT_FLUX_CHART_VERSION = "2.19.0";
export const DEFAULT_FLUX_NAMESPACE = "flux-system";
export const DEFAULT_FLUX_BRANCH = "main";
/** glab's `--manifest-path` for this cluster: where Flux reads the agent's manifests in the agent project. */
export const defaultFluxManifestPath = (cluster: string) => `.gitlab/flux/${cluster}`;
/** A relative folder path in a repository (no `.` or `..` segment, no leading slash). */
const REPO_PATH = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*\/?$/;
const CHART_VERSION = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
/** The connection docs' reason (GitLab's "Kubernetes deployment workflows"), quoted by the refusal. */
export const CI_WORKFLOW_IN_PRODUCTION =
  "GitLab's docs say the CI/CD workflow has a weaker security model: do not use it for production deployments; use the GitOps workflow (Flux)";

export const fluxSchema = section({
  manifestPath: v.optional(
    pattern("a folder path in the agent project, such as .gitlab/flux/prod", REPO_PATH, ".gitlab/flux/prod"),
  ),
  branch: v.optional(text("a branch name", DEFAULT_FLUX_BRANCH), DEFAULT_FLUX_BRANCH),
  namespace: v.optional(
    v.pipe(
      text("a Kubernetes namespace", DEFAULT_FLUX_NAMESPACE),
      v.check(
        (ns) => dnsLabelProblem(ns) === undefined,
        (i) => `${dnsLabelProblem(String(i.input))}. ${fix(DEFAULT_FLUX_NAMESPACE)}`,
      ),
    ),
    DEFAULT_FLUX_NAMESPACE,
  ),
  chartVersion: v.optional(
    pattern("a chart version such as 2.19.0", CHART_VERSION, DEFAULT_FLUX_CHART_VERSION),
    DEFAULT_FLUX_CHART_VERSION,
  ),
});

export interface FluxConfig {
  /** Folder in the agent project holding the agent's HelmRepository and HelmRelease (glab's --manifest-path). */
  manifestPath: string;
  /** Branch of the agent project Flux follows. */
  branch: string;
  /** Namespace of Flux's controllers and of its GitRepository, Kustomization, HelmRepository, HelmRelease. */
  namespace: string;
  /** Version of the fluxcd-community `flux2` chart. */
  chartVersion: string;
}

/**
 * The Flux settings with their defaults; the manifest folder defaults to glab's for this cluster, and for
 * an `agents` entry after the first (`agent` given) to a folder of its own beside it.
 */
export function fluxConfigOf(
  f: Partial<v.InferOutput<typeof fluxSchema>> | undefined,
  cluster: string,
  agent?: string,
): FluxConfig {
  const folder = defaultFluxManifestPath(agent === undefined ? cluster : `${cluster}-${agent}`);
  return {
    manifestPath: (f?.manifestPath ?? folder).replace(/\/+$/, ""),
    branch: f?.branch ?? DEFAULT_FLUX_BRANCH,
    namespace: f?.namespace ?? DEFAULT_FLUX_NAMESPACE,
    chartVersion: f?.chartVersion ?? DEFAULT_FLUX_CHART_VERSION,
  };
}

/**
 * Cross-setting rules: `ciAccess` on a production stack or tier only with `allowCiAccessInProduction`
 * (the docs' reason in the message); with Flux, the agent project by path (Flux clones it by URL).
 */
export function checkFluxRules(
  a: {
    installMethod?: (typeof AGENT_INSTALL_METHODS)[number];
    allowCiAccessInProduction?: boolean;
    ciAccess?: { projects?: unknown[]; groups?: unknown[] };
  },
  agentProject: string | undefined,
  ctx: { configKey: string; stack: string; tier: string; production: boolean },
  problems: Problem[],
): void {
  const key = (f: string) => `${ctx.configKey}.${f}`;
  const ciEntries = (a.ciAccess?.projects?.length ?? 0) + (a.ciAccess?.groups?.length ?? 0);
  if (ciEntries > 0 && ctx.production && !a.allowCiAccessInProduction)
    problems.push({
      key: key("ciAccess"),
      message:
        `grants CI/CD jobs access to a production stack (stack "${ctx.stack}", tier ${ctx.tier}): ${CI_WORKFLOW_IN_PRODUCTION}. ` +
        `Fix: pulumi config rm --path '${key("ciAccess")}' and deploy through Flux (pulumi config set --path '${key("installMethod")}' flux), ` +
        `or accept the risk knowingly: pulumi config set --path '${key("allowCiAccessInProduction")}' true`,
    });
  if (a.installMethod === "flux" && agentProject !== undefined && /^\d+$/.test(agentProject))
    problems.push({
      key: ctx.configKey === "gitlab-eks:agent" ? "gitlab-eks:gitlab.agentProject" : key("project"),
      message:
        `is the numeric id ${agentProject}, but Flux clones the agent project by its URL (${key("installMethod")} is flux). ` +
        `Fix: pulumi config set --path '${ctx.configKey === "gitlab-eks:agent" ? "gitlab-eks:gitlab.agentProject" : key("project")}' <group/project>`,
    });
}
