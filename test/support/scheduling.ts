/**
 * Kubernetes' scheduling predicates that decide WHERE a pod may go, applied to plain data: taints versus
 * tolerations (TaintToleration), nodeSelector and required node affinity (NodeAffinity). Resources and
 * preferred affinity are left out: they decide among allowed nodes, never whether a node is allowed.
 */
import { parse } from "smol-toml";

export interface NodeTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}
export interface SchedNode {
  name: string;
  labels: Record<string, string>;
  taints: NodeTaint[];
}
export interface PodToleration {
  key?: string;
  operator?: "Equal" | "Exists";
  value?: string;
  effect?: string;
}
export interface MatchExpression {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  values?: string[];
}
export interface SchedPod {
  tolerations?: PodToleration[];
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        nodeSelectorTerms: { matchExpressions?: MatchExpression[] }[];
      };
    };
  };
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: PodToleration, taint: NodeTaint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const operator = t.operator ?? "Equal";
  if (operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

function matches(e: MatchExpression, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, e.key);
  const value = labels[e.key];
  switch (e.operator) {
    case "In":
      return has && (e.values ?? []).includes(value);
    case "NotIn":
      return !has || !(e.values ?? []).includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
      return has && Number(value) > Number(e.values?.[0]);
    case "Lt":
      return has && Number(value) < Number(e.values?.[0]);
  }
}

/** Why the pod cannot go to the node, or undefined when it can. */
export function unschedulableReason(pod: SchedPod, node: SchedNode): string | undefined {
  for (const taint of node.taints) {
    if (taint.effect === "PreferNoSchedule") continue;
    if (!(pod.tolerations ?? []).some((t) => tolerates(t, taint)))
      return `untolerated taint ${taint.key}=${taint.value ?? ""}:${taint.effect}`;
  }
  for (const [k, v] of Object.entries(pod.nodeSelector ?? {}))
    if (node.labels[k] !== v) return `nodeSelector ${k}=${v} does not match`;
  const required = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    // Terms are ORed, expressions within a term ANDed; an empty term matches nothing.
    const ok = required.nodeSelectorTerms.some(
      (term) =>
        (term.matchExpressions ?? []).length > 0 &&
        term.matchExpressions!.every((e) => matches(e, node.labels)),
    );
    if (!ok) return "required node affinity does not match";
  }
  return undefined;
}

export function canSchedule(pod: SchedPod, node: SchedNode): boolean {
  return unschedulableReason(pod, node) === undefined;
}

/**
 * The job pod GitLab Runner's Kubernetes executor builds from a config.toml: `node_tolerations` entries
 * `"key=value" = "Effect"` become operator Equal, `"key" = "Effect"` operator Exists (an empty effect
 * tolerates every effect); `node_selector` and the snake_case `affinity` map to the pod spec.
 */
export function jobPodFromToml(toml: string): SchedPod {
  const data = parse(toml) as { runners?: { kubernetes?: Record<string, unknown> }[] };
  const k = data.runners?.[0]?.kubernetes ?? {};
  const tolerations = Object.entries((k.node_tolerations ?? {}) as Record<string, string>).map(
    ([kv, effect]) => {
      const [key, value] = kv.split("=", 2);
      return value === undefined
        ? { key, operator: "Exists" as const, ...(effect ? { effect } : {}) }
        : { key, operator: "Equal" as const, value, ...(effect ? { effect } : {}) };
    },
  );
  type TomlAffinity = {
    node_affinity?: {
      required_during_scheduling_ignored_during_execution?: {
        node_selector_terms?: { match_expressions?: MatchExpression[] }[];
      };
    };
  };
  const required = (k.affinity as TomlAffinity | undefined)?.node_affinity
    ?.required_during_scheduling_ignored_during_execution;
  return {
    tolerations,
    nodeSelector: (k.node_selector ?? {}) as Record<string, string>,
    ...(required
      ? {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: (required.node_selector_terms ?? []).map((t) => ({
                  matchExpressions: t.match_expressions ?? [],
                })),
              },
            },
          },
        }
      : {}),
  };
}
