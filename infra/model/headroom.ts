/**
 * Headroom: warm runner nodes while people work, zero when they do not. Placeholder pods (pause
 * containers), each sized like most of a runner node and one per node, run on the runner pool at a
 * priority below every job; the autoscaler keeps a node for each, and a job that does not fit next to a
 * placeholder preempts it at once (the placeholder then waits for a new node, which the autoscaler adds).
 * An optional schedule scales the placeholders up and down with two CronJobs on the system pool whose
 * service account may patch the scale of that one Deployment and nothing else.
 */
import type { HeadroomConfig } from "../config/autoscalerSchema";
import type { StackConfig } from "../config/types";
import { isolationRule } from "./isolation";
import { COMPONENT_LABEL } from "./runner";

export const HEADROOM_NAMESPACE = "gitlab-eks-headroom";
export const HEADROOM_DEPLOYMENT = "runner-headroom";
export const HEADROOM_COMPONENT = "runner-headroom";
export const HEADROOM_PRIORITY_CLASS = "gitlab-eks-runner-headroom";
/**
 * Below every job (job pods have no priority class: 0) and at or above CA's expendable-pods cutoff (-10):
 * pods under the cutoff never trigger a scale-up, which would defeat the headroom.
 */
export const HEADROOM_PRIORITY = -1;
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
export const SCALER_SERVICE_ACCOUNT = "runner-headroom-scaler";

// Functions, not shared objects: each manifest gets its own copy (and `render`'s YAML no anchors).
const labels = () => ({
  "app.kubernetes.io/managed-by": "gitlab-eks",
  "app.kubernetes.io/part-of": "gitlab-eks",
});
const selector = () => ({ "app.kubernetes.io/name": HEADROOM_DEPLOYMENT });
const restricted = () => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
});

/** A Kubernetes object as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface HeadroomObjects {
  namespace: Manifest;
  priorityClass: Manifest;
  deployment: Manifest;
  /** Present with a schedule: the scaler's account, its Role and RoleBinding, and the two CronJobs. */
  scaler?: { serviceAccount: Manifest; role: Manifest; roleBinding: Manifest; cronJobs: Manifest[] };
}

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** The scaler may read and patch the scale of the placeholder Deployment, in its namespace, and nothing else. */
export const SCALER_RULES: RbacRule[] = [
  {
    apiGroups: ["apps"],
    resources: ["deployments/scale"],
    resourceNames: [HEADROOM_DEPLOYMENT],
    verbs: ["get", "patch"],
  },
];

/**
 * Patches `spec.replicas` through the scale subresource with the pod's own token; prints the API's answer
 * on failure (never the token).
 */
export const SCALE_SCRIPT = [
  "set -eu",
  'sa="${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}"',
  // The API server's in-cluster address, as Kubernetes sets it in every pod.
  'api="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"',
  'curl -sS --fail-with-body --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")"' +
    ' -H "Content-Type: application/merge-patch+json" -X PATCH' +
    ' --data "{\\"spec\\":{\\"replicas\\":$REPLICAS}}"' +
    ' "$api/apis/apps/v1/namespaces/$NAMESPACE/deployments/$DEPLOYMENT/scale"',
  'echo "scaled $NAMESPACE/$DEPLOYMENT to $REPLICAS"',
].join("\n");

/** Everything the headroom needs, or undefined when `headroom.nodes` is 0. */
export function headroomObjects(config: StackConfig, headroom: HeadroomConfig): HeadroomObjects | undefined {
  if (headroom.nodes === 0) return undefined;
  const rule = isolationRule(config.isolation);
  const namespace = HEADROOM_NAMESPACE;
  const podLabels = { ...selector(), [COMPONENT_LABEL]: HEADROOM_COMPONENT };
  const schedule = headroom.schedule;

  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: HEADROOM_DEPLOYMENT, namespace, labels: labels() },
    spec: {
      // With a schedule the CronJobs own the count (Pulumi ignores it); the first scaleUp starts the headroom.
      replicas: schedule ? 0 : headroom.nodes,
      selector: { matchLabels: selector() },
      template: {
        metadata: { labels: podLabels },
        spec: {
          priorityClassName: HEADROOM_PRIORITY_CLASS,
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          // On the runner pool only: the taint's toleration and the label's required affinity, from the rule.
          tolerations: [{ ...rule.toleration }],
          affinity: {
            nodeAffinity: structuredClone(rule.affinity.nodeAffinity),
            // One placeholder per node, so N placeholders keep N nodes.
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                { labelSelector: { matchLabels: selector() }, topologyKey: "kubernetes.io/hostname" },
              ],
            },
          },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65535,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "pause",
              image: PAUSE_IMAGE,
              resources: {
                requests: { cpu: headroom.cpu, memory: headroom.memory },
                limits: { memory: headroom.memory },
              },
              securityContext: restricted(),
            },
          ],
        },
      },
    },
  };

  const objects: HeadroomObjects = {
    namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: labels() } },
    priorityClass: {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: HEADROOM_PRIORITY_CLASS, labels: labels() },
      value: HEADROOM_PRIORITY,
      globalDefault: false,
      // A placeholder never pushes anything out; it only holds room until a job needs it.
      preemptionPolicy: "Never",
      description: "gitlab-eks: runner headroom placeholders; any job preempts them.",
    },
    deployment,
  };
  if (!schedule) return objects;

  const cronJob = (direction: "up" | "down", cron: string, replicas: number) => ({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: `${HEADROOM_DEPLOYMENT}-${direction}`, namespace, labels: labels() },
    spec: {
      schedule: cron,
      timeZone: schedule.timeZone,
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 300,
          template: {
            metadata: { labels: { "app.kubernetes.io/name": SCALER_SERVICE_ACCOUNT } },
            spec: {
              serviceAccountName: SCALER_SERVICE_ACCOUNT,
              restartPolicy: "OnFailure",
              // On the system pool: off runner nodes, as the rule says.
              affinity: structuredClone(rule.avoidAffinity),
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 100,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "scale",
                  image: schedule.image,
                  command: ["/bin/sh", "-c", SCALE_SCRIPT],
                  env: [
                    { name: "NAMESPACE", value: namespace },
                    { name: "DEPLOYMENT", value: HEADROOM_DEPLOYMENT },
                    { name: "REPLICAS", value: String(replicas) },
                  ],
                  resources: {
                    requests: { cpu: "10m", memory: "16Mi" },
                    limits: { memory: "64Mi" },
                  },
                  securityContext: restricted(),
                },
              ],
            },
          },
        },
      },
    },
  });

  objects.scaler = {
    serviceAccount: {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SCALER_SERVICE_ACCOUNT, namespace, labels: labels() },
    },
    role: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: SCALER_SERVICE_ACCOUNT, namespace, labels: labels() },
      rules: SCALER_RULES,
    },
    roleBinding: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: SCALER_SERVICE_ACCOUNT, namespace, labels: labels() },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SCALER_SERVICE_ACCOUNT },
      subjects: [{ kind: "ServiceAccount", name: SCALER_SERVICE_ACCOUNT, namespace }],
    },
    cronJobs: [cronJob("up", schedule.scaleUp, headroom.nodes), cronJob("down", schedule.scaleDown, 0)],
  };
  return objects;
}

/** The objects in apply order, as `render` writes them. */
export function headroomManifests(objects: HeadroomObjects): Manifest[] {
  const s = objects.scaler;
  return [
    objects.namespace,
    objects.priorityClass,
    objects.deployment,
    ...(s ? [s.serviceAccount, s.role, s.roleBinding, ...s.cronJobs] : []),
  ];
}
