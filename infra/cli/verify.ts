/**
 * `gitlab-eks verify`: the seed's final check against a live cluster. Lists nodes and pods through the
 * Kubernetes API and names every pod that breaks the isolation (see model/placementCheck.ts). The
 * kubeconfig comes from `--kubeconfig`, or from the stack's `kubeconfig` output through the Pulumi CLI.
 * No @pulumi/* import: it stays as quick to start as validate and render.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentConfig, StackConfig } from "../config/types";
import { getObject, listAll } from "../kube/client";
import { connectionFromKubeconfig } from "../kube/kubeconfig";
import { AUTOSCALER_NAMESPACE, AUTOSCALER_STATUS_CONFIGMAP } from "../model/autoscaler";
import { checkAutoscalerStatus, StatusConfigMap } from "../model/autoscalerCheck";
import { isolationRule } from "../model/isolation";
import { checkPlacement, NodeInfo, PodInfo } from "../model/placementCheck";
import { checkFluxStatus, fluxStatusPaths, FluxStatusObject } from "../model/fluxCheck";
import { CliFailure } from "../core/failure";

/** Exit code when offenders are found. */
export const EXIT_OFFENDERS = 1;
/** Exit code when the cluster could not be read (kubeconfig, Pulumi CLI, API). */
export const EXIT_UNREACHABLE = 3;

export interface VerifyIo {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** The stack's `kubeconfig` output, read with the Pulumi CLI (which holds the state and decrypts it). */
export function kubeconfigFromStack(
  stack: string,
  dir: string,
  env: Record<string, string | undefined>,
): string {
  const r = spawnSync("pulumi", ["stack", "output", "kubeconfig", "--show-secrets", "--stack", stack], {
    cwd: dir,
    env: env as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error)
    throw new CliFailure(
      [
        `gitlab-eks verify: cannot run the Pulumi CLI to read stack ${stack}'s kubeconfig output ` +
          `(${(r.error as NodeJS.ErrnoException).code ?? r.error.message}). Fix: install pulumi, or pass --kubeconfig FILE`,
      ],
      EXIT_UNREACHABLE,
    );
  if (r.status !== 0)
    throw new CliFailure(
      [
        `gitlab-eks verify: pulumi stack output kubeconfig failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" ")}. ` +
          `Fix: select the right backend (PULUMI_BACKEND_URL) and passphrase, deploy the stack, or pass --kubeconfig FILE`,
      ],
      EXIT_UNREACHABLE,
    );
  let text = r.stdout.trim();
  // A string output may come JSON-quoted; unwrap it.
  if (text.startsWith('"')) {
    try {
      text = JSON.parse(text) as string;
    } catch {
      // leave it as it is
    }
  }
  if (!text)
    throw new CliFailure(
      [
        `gitlab-eks verify: stack ${stack} has no kubeconfig output. Fix: run pulumi up, or pass --kubeconfig FILE`,
      ],
      EXIT_UNREACHABLE,
    );
  return text;
}

export async function verify(
  io: VerifyIo,
  config: StackConfig,
  opts: { stack: string; dir: string; kubeconfig?: string; context?: string },
): Promise<void> {
  const dir = path.resolve(io.cwd, opts.dir);
  let text: string;
  let baseDir = dir;
  if (opts.kubeconfig) {
    const file = path.resolve(io.cwd, opts.kubeconfig);
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new CliFailure(
        [
          `gitlab-eks verify: cannot read --kubeconfig ${opts.kubeconfig}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        ],
        EXIT_UNREACHABLE,
      );
    }
    baseDir = path.dirname(file);
  } else {
    text = kubeconfigFromStack(opts.stack, dir, io.env);
  }

  let nodes: NodeInfo[];
  let pods: PodInfo[];
  let status: StatusConfigMap | undefined;
  let flux: (FluxStatusObject | undefined)[][] = [];
  const fluxAgents = config.agents.filter((a) => a.installMethod === "flux");
  try {
    const conn = connectionFromKubeconfig(text, { baseDir, env: io.env, context: opts.context });
    [nodes, pods, status] = await Promise.all([
      listAll<NodeInfo>(conn, "/api/v1/nodes"),
      listAll<PodInfo>(conn, "/api/v1/pods"),
      config.autoscaler
        ? getObject<StatusConfigMap>(
            conn,
            `/api/v1/namespaces/${AUTOSCALER_NAMESPACE}/configmaps/${AUTOSCALER_STATUS_CONFIGMAP}`,
          )
        : Promise.resolve(undefined),
    ]);
    flux = await Promise.all(fluxAgents.map((agent) => readFlux(conn, agent)));
  } catch (e) {
    throw new CliFailure([`gitlab-eks verify: ${(e as Error).message}`], EXIT_UNREACHABLE);
  }

  const rule = isolationRule(config.isolation);
  const placement = config.runner?.managerPlacement ?? "runner-pool";
  const report = checkPlacement(nodes, pods, rule, placement);
  const headroom = report.headroomPods ? `, ${report.headroomPods} headroom` : "";
  const summary =
    `${nodes.length} nodes (${report.runnerNodes.length} runner nodes: ${report.runnerNodes.join(", ") || "none"}), ` +
    `${report.checkedPods} pods checked (${report.managerPods} runner manager, ${report.jobPods} job${headroom})`;
  const autoscaler = config.autoscaler ? checkAutoscalerStatus(config, rule, nodes, pods, status) : undefined;
  const failures: string[] = [];
  if (report.offenders.length)
    failures.push(
      ...report.offenders,
      `gitlab-eks verify: ${report.offenders.length} pod${report.offenders.length === 1 ? "" : "s"} break the runner isolation (${rule.label}); ${summary}`,
    );
  if (autoscaler?.problems.length) failures.push(...autoscaler.problems);
  // With several Flux agents, each line says whose objects it is about.
  const whose = (agent: AgentConfig) =>
    fluxAgents.length > 1 ? `agent "${agent.name}" (${agent.configKey}): ` : "";
  const fluxReports = fluxAgents.map((agent, i) =>
    checkFluxStatus(agent, flux[i][0], flux[i][1], whose(agent)),
  );
  for (const fluxReport of fluxReports) failures.push(...fluxReport.problems);
  if (failures.length) throw new CliFailure(failures, EXIT_OFFENDERS);
  io.out(`ok: ${summary}`);
  if (autoscaler) io.out(`ok: ${autoscaler.lines.join("; ")}`);
  for (const fluxReport of fluxReports) io.out(`ok: ${fluxReport.lines.join("; ")}`);
  if (config.runner && report.managerPods === 0)
    io.out(
      `note: no runner manager pod found (label gitlab-eks/component=runner-manager); is the release installed?`,
    );
}

/** installMethod flux: the Kustomization and the agent's HelmRelease (undefined when absent). */
function readFlux(
  conn: Parameters<typeof getObject>[0],
  agent: AgentConfig,
): Promise<(FluxStatusObject | undefined)[]> {
  const paths = fluxStatusPaths(agent);
  return Promise.all([
    getObject<FluxStatusObject>(conn, paths.kustomization),
    getObject<FluxStatusObject>(conn, paths.helmRelease),
  ]);
}
