/**
 * `verify`'s view of Cluster Autoscaler, as a pure function: does its pod run, on a system node, and does
 * its status ConfigMap (`cluster-autoscaler-status` in kube-system) list the runner pool's node group?
 * The runner pool's Auto Scaling group is named `eks-<node group name>-<id>`, and the node group's name
 * starts with `<cluster>-runner-` (infra/cloud/nodePools.ts), so the status names it that way.
 */
import type { StackConfig } from "../config/types";
import {
  AUTOSCALER_COMPONENT,
  AUTOSCALER_NAMESPACE,
  AUTOSCALER_STATUS_CONFIGMAP,
  discoveryTags,
} from "./autoscaler";
import type { IsolationRule } from "./isolation";
import { desiredNodePools } from "./nodePools";
import { isRunnerNode, NodeInfo, PodInfo } from "./placementCheck";
import { COMPONENT_LABEL } from "./runner";

export interface StatusConfigMap {
  data?: Record<string, string>;
}

export interface AutoscalerReport {
  /** What is wrong, one line each (verify fails on any). */
  problems: string[];
  /** What is fine, for the summary. */
  lines: string[];
}

export function checkAutoscalerStatus(
  config: StackConfig,
  rule: IsolationRule,
  nodes: NodeInfo[],
  pods: PodInfo[],
  status: StatusConfigMap | undefined,
): AutoscalerReport {
  const problems: string[] = [];
  const lines: string[] = [];
  const runnerNodes = new Set(nodes.filter((n) => isRunnerNode(n, rule)).map((n) => n.metadata.name));
  const ca = pods.filter(
    (p) =>
      p.metadata.namespace === AUTOSCALER_NAMESPACE &&
      p.metadata.labels?.[COMPONENT_LABEL] === AUTOSCALER_COMPONENT &&
      p.spec?.nodeName &&
      p.status?.phase === "Running",
  );
  if (ca.length === 0)
    problems.push(
      `autoscaler: no running Cluster Autoscaler pod in ${AUTOSCALER_NAMESPACE} (label ${COMPONENT_LABEL}=${AUTOSCALER_COMPONENT}); ` +
        `nothing will add runner nodes for pending jobs. Check: kubectl -n ${AUTOSCALER_NAMESPACE} get deploy cluster-autoscaler`,
    );
  for (const p of ca) {
    const where = p.spec!.nodeName!;
    if (runnerNodes.has(where))
      problems.push(
        `autoscaler: pod ${p.metadata.namespace}/${p.metadata.name} runs on runner node ${where}; it belongs on the system pool`,
      );
    else lines.push(`autoscaler pod ${p.metadata.namespace}/${p.metadata.name} runs on system node ${where}`);
  }

  const runnerPool = desiredNodePools(config).find((p) => p.role === "runner")!;
  const prefix = `eks-${runnerPool.name}-`;
  const text = status?.data?.status;
  if (text === undefined)
    problems.push(
      `autoscaler: no status ConfigMap ${AUTOSCALER_NAMESPACE}/${AUTOSCALER_STATUS_CONFIGMAP} (the autoscaler writes it once it runs)`,
    );
  else {
    const group = new RegExp(`${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[A-Za-z0-9-]+`).exec(text)?.[0];
    if (group) lines.push(`sees the runner pool's node group ${group}`);
    else
      problems.push(
        `autoscaler: its status (${AUTOSCALER_STATUS_CONFIGMAP}) lists no node group ${prefix}...; it does not manage the runner pool. ` +
          `Check that the pool's Auto Scaling group carries the tags ${discoveryTags(config).join(", ")}`,
      );
  }
  lines.push(`${runnerNodes.size} runner node${runnerNodes.size === 1 ? "" : "s"} up now`);
  return { problems, lines };
}
