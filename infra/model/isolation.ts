/**
 * THE isolation rule, defined once: runner nodes carry the label `<key>=<value>` and the taint
 * `<key>=<value>:NoSchedule`; only pods that tolerate that taint AND require that label (runner manager
 * and job pods) run there. Every node label, node taint, autoscaler tag, pod toleration, node selector and
 * node affinity in this project derives from `isolationRule()`; nothing else spells them out.
 */
import type { IsolationConfig } from "../config/types";

/** Kubernetes spelling of a taint effect, and the EKS API's. */
export type TaintEffect = "NoSchedule";
const EKS_EFFECT = { NoSchedule: "NO_SCHEDULE" } as const;

export interface Taint {
  key: string;
  value: string;
  effect: TaintEffect;
}

export interface Toleration {
  key: string;
  operator: "Equal";
  value: string;
  effect: TaintEffect;
}

export interface NodeAffinity {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: {
        matchExpressions: { key: string; operator: "In" | "NotIn"; values: string[] }[];
      }[];
    };
  };
}

export interface IsolationRule {
  labelKey: string;
  labelValue: string;
  /** `workload=gitlab-runner`: the label as a selector string. */
  label: string;
  /** Node labels for runner nodes. */
  nodeLabels: Record<string, string>;
  /** The taint on runner nodes, Kubernetes spelling. */
  taint: Taint;
  /** `workload=gitlab-runner:NoSchedule`. */
  taintString: string;
  /** The same taint as the EKS API spells it (`NO_SCHEDULE`), for managed node groups. */
  eksTaint: { key: string; value: string; effect: (typeof EKS_EFFECT)[TaintEffect] };
  /** The toleration a pod needs to be allowed onto runner nodes. */
  toleration: Toleration;
  /** Required node affinity that keeps a pod ON runner nodes. */
  affinity: NodeAffinity;
  /** nodeSelector equivalent of `affinity`. */
  nodeSelector: Record<string, string>;
  /** Required node affinity that keeps a pod OFF runner nodes (for system workloads such as agentk). */
  avoidAffinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: { matchExpressions: { key: string; operator: "NotIn"; values: string[] }[] }[];
      };
    };
  };
  /**
   * Cluster Autoscaler node-template tags for the runner pool's Auto Scaling group, so that an empty pool
   * (size 0) can still be scaled up for a pending pod: the autoscaler cannot see labels or taints of nodes
   * that do not exist, and EKS does not copy node group labels/taints to the ASG.
   */
  autoscalerTags: Record<string, string>;
}

export function isolationRule(config: IsolationConfig): IsolationRule {
  const { labelKey: key, labelValue: value } = config;
  const effect: TaintEffect = "NoSchedule";
  return {
    labelKey: key,
    labelValue: value,
    label: `${key}=${value}`,
    nodeLabels: { [key]: value },
    taint: { key, value, effect },
    taintString: `${key}=${value}:${effect}`,
    eksTaint: { key, value, effect: EKS_EFFECT[effect] },
    toleration: { key, operator: "Equal", value, effect },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key, operator: "In", values: [value] }] }],
        },
      },
    },
    nodeSelector: { [key]: value },
    avoidAffinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key, operator: "NotIn", values: [value] }] }],
        },
      },
    },
    autoscalerTags: {
      [`k8s.io/cluster-autoscaler/node-template/label/${key}`]: value,
      [`k8s.io/cluster-autoscaler/node-template/taint/${key}`]: `${value}:${effect}`,
    },
  };
}

/** Converts a Kubernetes taint effect to the EKS API's spelling. */
export function toEksEffect(effect: TaintEffect): "NO_SCHEDULE" {
  return EKS_EFFECT[effect];
}

/** Node affinity in the snake_case shape of GitLab Runner's `[runners.kubernetes.affinity]`. */
export interface RunnerTomlAffinity {
  node_affinity: {
    required_during_scheduling_ignored_during_execution: {
      node_selector_terms: { match_expressions: { key: string; operator: string; values: string[] }[] }[];
    };
  };
}

/** Where job pods go, as `[runners.kubernetes]` settings (job pods do NOT inherit the manager's placement). */
export interface RunnerJobPlacement {
  node_selector: Record<string, string>;
  /** `"<key>=<value>" = "<Effect>"`, the runner's spelling of a toleration with operator Equal. */
  node_tolerations: Record<string, string>;
  affinity: RunnerTomlAffinity;
}

export function runnerJobPlacement(rule: IsolationRule): RunnerJobPlacement {
  const t = rule.toleration;
  return {
    node_selector: { ...rule.nodeSelector },
    node_tolerations: { [`${t.key}=${t.value}`]: t.effect },
    affinity: {
      node_affinity: {
        required_during_scheduling_ignored_during_execution: {
          node_selector_terms:
            rule.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.map(
              (term) => ({
                match_expressions: term.matchExpressions.map((e) => ({ ...e, values: [...e.values] })),
              }),
            ),
        },
      },
    },
  };
}

/** Placement of a pod given as chart values (`affinity`, `tolerations`, `nodeSelector`). */
export interface PodPlacement {
  affinity: NodeAffinity;
  tolerations: Toleration[];
  nodeSelector: Record<string, string>;
}

/**
 * The runner manager's placement: on the runner pool (toleration + required label), or on the other
 * nodes (no toleration, and a required affinity keeping it off nodes with the label even if untainted).
 */
export function managerPodPlacement(rule: IsolationRule, where: "runner-pool" | "system-pool"): PodPlacement {
  if (where === "runner-pool")
    return {
      affinity: structuredClone(rule.affinity),
      tolerations: [{ ...rule.toleration }],
      nodeSelector: {},
    };
  return {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: rule.labelKey, operator: "NotIn", values: [rule.labelValue] }] },
          ],
        },
      },
    },
    tolerations: [],
    nodeSelector: {},
  };
}
