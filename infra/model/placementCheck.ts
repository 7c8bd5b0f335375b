/**
 * The seed's final check as a pure function: given the cluster's nodes and pods, which pods break the
 * isolation? Runner nodes carry the isolation label or taint. Only runner manager and job pods (and the
 * autoscaler's headroom placeholders, which hold room for jobs) may run there (DaemonSet and static pods
 * aside, they belong to every node); job and placeholder pods must run there; the manager runs there or,
 * with managerPlacement system-pool, must not.
 */
import type { ManagerPlacement } from "../config/runnerTypes";
import type { IsolationRule } from "./isolation";
import { HEADROOM_COMPONENT } from "./headroom";
import { COMPONENT_LABEL, JOB_COMPONENT, MANAGER_COMPONENT } from "./runner";

/** The fields of a v1.Node this check reads. */
export interface NodeInfo {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
}

/** The fields of a v1.Pod this check reads. */
export interface PodInfo {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

export interface PlacementReport {
  offenders: string[];
  runnerNodes: string[];
  otherNodes: string[];
  checkedPods: number;
  managerPods: number;
  jobPods: number;
  headroomPods: number;
}

export function isRunnerNode(node: NodeInfo, rule: IsolationRule): boolean {
  const labelled = node.metadata.labels?.[rule.labelKey] === rule.labelValue;
  const tainted = (node.spec?.taints ?? []).some(
    (t) => t.key === rule.taint.key && (t.value ?? "") === rule.taint.value && t.effect === rule.taint.effect,
  );
  return labelled || tainted;
}

export function checkPlacement(
  nodes: NodeInfo[],
  pods: PodInfo[],
  rule: IsolationRule,
  managerPlacement: ManagerPlacement,
): PlacementReport {
  const runnerNodes = new Set(nodes.filter((n) => isRunnerNode(n, rule)).map((n) => n.metadata.name));
  const offenders: string[] = [];
  let checkedPods = 0;
  let managerPods = 0;
  let jobPods = 0;
  let headroomPods = 0;
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node) continue; // not scheduled yet
    if (pod.metadata.ownerReferences?.some((o) => o.kind === "DaemonSet")) continue;
    if (pod.metadata.annotations?.["kubernetes.io/config.mirror"]) continue; // static pod
    checkedPods++;
    const id = `pod ${pod.metadata.namespace}/${pod.metadata.name}`;
    const onRunner = runnerNodes.has(node);
    const where = `${onRunner ? "runner node" : "node"} ${node}`;
    const component = pod.metadata.labels?.[COMPONENT_LABEL];
    if (component === JOB_COMPONENT) {
      jobPods++;
      if (!onRunner)
        offenders.push(
          `${id}: a runner job pod on ${where}, outside the runner pool (check runners.config node_selector/node_tolerations/affinity)`,
        );
    } else if (component === HEADROOM_COMPONENT) {
      headroomPods++;
      if (!onRunner)
        offenders.push(
          `${id}: a runner headroom placeholder on ${where}, outside the runner pool (it should hold room on a runner node)`,
        );
    } else if (component === MANAGER_COMPONENT) {
      managerPods++;
      if (managerPlacement === "runner-pool" && !onRunner)
        offenders.push(`${id}: the runner manager runs on ${where}, but managerPlacement is runner-pool`);
      if (managerPlacement === "system-pool" && onRunner)
        offenders.push(`${id}: the runner manager runs on ${where}, but managerPlacement is system-pool`);
    } else if (onRunner) {
      offenders.push(
        `${id}: not a runner pod, but runs on ${where} (${rule.label}); only runner manager and job pods belong there (does it tolerate ${rule.taintString}?)`,
      );
    }
  }
  return {
    offenders,
    runnerNodes: [...runnerNodes].sort(),
    otherNodes: nodes
      .map((n) => n.metadata.name)
      .filter((n) => !runnerNodes.has(n))
      .sort(),
    checkedPods,
    managerPods,
    jobPods,
    headroomPods,
  };
}
