/**
 * Cluster Autoscaler for the runner pool: its IRSA role (trusted only by its service account, allowed to
 * scale only this cluster's node groups), the cluster-autoscaler chart as a Helm release on the system
 * pool, and the optional headroom (placeholder Deployment, PriorityClass, and with a schedule the
 * CronJobs and their namespaced RBAC). Everything that goes in comes from infra/model/autoscaler.ts and
 * infra/model/headroom.ts, so `gitlab-eks render` shows the same objects.
 */
import * as aws from "@pulumi/aws";
import type * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AutoscalerConfig, StackConfig } from "../config/types";
import {
  AUTOSCALER_CHART,
  AUTOSCALER_CHART_REPO,
  AUTOSCALER_NAMESPACE,
  AUTOSCALER_RELEASE_NAME,
  autoscalerHelmValues,
  autoscalerPermissionPolicy,
  autoscalerTrustPolicy,
  SERVICE_ACCOUNT_SUBJECT,
} from "../model/autoscaler";
import { headroomObjects } from "../model/headroom";

export interface AutoscalerDeployment {
  role: aws.iam.Role;
  release: k8s.helm.v3.Release;
  /** The placeholder Deployment, when autoscaler.headroom.nodes > 0. */
  headroom?: k8s.apps.v1.Deployment;
  resources: pulumi.Resource[];
}

export interface AutoscalerContext {
  cluster: eks.Cluster;
  k8sProvider: k8s.Provider;
  tags: Record<string, string>;
  /** What must exist first: CoreDNS (hence system nodes) and the node groups it will scale. */
  dependsOn: pulumi.Resource[];
}

export function deployAutoscaler(
  config: StackConfig,
  autoscaler: AutoscalerConfig,
  ctx: AutoscalerContext,
): AutoscalerDeployment {
  const resources: pulumi.Resource[] = [];
  const keep = <T extends pulumi.Resource>(r: T) => (resources.push(r), r);
  const name = config.cluster.name;

  const role = keep(
    new aws.iam.Role("cluster-autoscaler", {
      namePrefix: `${name}-autoscaler-`.slice(0, 38),
      description: `Cluster Autoscaler (${SERVICE_ACCOUNT_SUBJECT}) of ${name}: scales this cluster's node groups`,
      assumeRolePolicy: pulumi
        .all([ctx.cluster.oidcProviderArn, ctx.cluster.oidcIssuer])
        .apply(([arn, issuer]) => JSON.stringify(autoscalerTrustPolicy(arn, issuer))),
      tags: ctx.tags,
    }),
  );
  const policy = keep(
    new aws.iam.RolePolicy("cluster-autoscaler", {
      role: role.id,
      policy: ctx.cluster.oidcProviderArn.apply((arn) =>
        JSON.stringify(autoscalerPermissionPolicy(config, arn)),
      ),
    }),
  );

  const k8sOpts = { provider: ctx.k8sProvider };
  const release = keep(
    new k8s.helm.v3.Release(
      "cluster-autoscaler",
      {
        name: AUTOSCALER_RELEASE_NAME,
        chart: AUTOSCALER_CHART,
        version: autoscaler.chartVersion,
        repositoryOpts: { repo: AUTOSCALER_CHART_REPO },
        namespace: AUTOSCALER_NAMESPACE,
        createNamespace: false,
        values: role.arn.apply((roleArn) => autoscalerHelmValues(config, autoscaler, { roleArn })),
        atomic: true,
        timeout: 600,
        maxHistory: 10,
      },
      // The policy first: a pod that starts without its permissions backs off before it ever scales.
      { ...k8sOpts, dependsOn: [policy, ...ctx.dependsOn] },
    ),
  );

  const objects = headroomObjects(config, autoscaler.headroom);
  let headroom: k8s.apps.v1.Deployment | undefined;
  if (objects) {
    const namespace = keep(
      new k8s.core.v1.Namespace("headroom", { metadata: objects.namespace.metadata }, k8sOpts),
    );
    const priorityClass = keep(
      new k8s.scheduling.v1.PriorityClass(
        "headroom",
        {
          metadata: objects.priorityClass.metadata,
          value: objects.priorityClass.value,
          globalDefault: objects.priorityClass.globalDefault,
          preemptionPolicy: objects.priorityClass.preemptionPolicy,
          description: objects.priorityClass.description,
        },
        k8sOpts,
      ),
    );
    const scheduled = objects.scaler !== undefined;
    headroom = keep(
      new k8s.apps.v1.Deployment(
        "headroom",
        {
          // `up` does not wait for the placeholders: each needs a runner node the autoscaler adds in minutes.
          metadata: { ...objects.deployment.metadata, annotations: { "pulumi.com/skipAwait": "true" } },
          spec: objects.deployment.spec,
        },
        {
          ...k8sOpts,
          dependsOn: [namespace, priorityClass, release, ...ctx.dependsOn],
          // With a schedule the CronJobs set the replicas; an `up` in the middle of the day must not undo them.
          ...(scheduled ? { ignoreChanges: ["spec.replicas"] } : {}),
        },
      ),
    );
    const s = objects.scaler;
    if (s) {
      const nsOpts = { ...k8sOpts, dependsOn: [namespace] };
      const account = keep(
        new k8s.core.v1.ServiceAccount("headroom-scaler", { metadata: s.serviceAccount.metadata }, nsOpts),
      );
      const roleObject = keep(
        new k8s.rbac.v1.Role("headroom-scaler", { metadata: s.role.metadata, rules: s.role.rules }, nsOpts),
      );
      const binding = keep(
        new k8s.rbac.v1.RoleBinding(
          "headroom-scaler",
          {
            metadata: s.roleBinding.metadata,
            roleRef: s.roleBinding.roleRef,
            subjects: s.roleBinding.subjects,
          },
          { ...k8sOpts, dependsOn: [namespace, account, roleObject] },
        ),
      );
      for (const cron of s.cronJobs)
        keep(
          new k8s.batch.v1.CronJob(
            cron.metadata.name,
            { metadata: cron.metadata, spec: cron.spec },
            { ...k8sOpts, dependsOn: [binding, headroom, ...ctx.dependsOn] },
          ),
        );
    }
  }
  return { role, release, headroom, resources };
}
