/**
 * GitLab Runner on the isolated pool: the runner in GitLab (dynamic resource, token a secret), its token
 * in our own Kubernetes Secret, the namespace, the job service account, the optional S3 cache with an
 * IRSA role for the manager, and the gitlab-runner chart as a Helm release. What goes into the chart
 * comes from infra/model/runner.ts, so `gitlab-eks render` shows the same values.
 */
import * as aws from "@pulumi/aws";
import type * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RunnerConfig } from "../config/runnerTypes";
import type { StackConfig } from "../config/types";
import { resolveConnection } from "../gitlab/connection";
import { ownerOf } from "../gitlab/ownership";
import { runnerPreflight } from "../gitlab/runnerPreflight";
import {
  JOB_SERVICE_ACCOUNT,
  MANAGER_SERVICE_ACCOUNT,
  RUNNER_CHART,
  RUNNER_CHART_REPO,
  RUNNER_ID_ANNOTATION,
  RUNNER_RELEASE_NAME,
  runnerHelmValues,
  runnerTokenSecret,
} from "../model/runner";
import { irsaTrustPolicy } from "../model/autoscaler";
import type { GitlabTarget } from "./gitlab/dynamic";
import { GitlabRunner } from "./gitlab/runnerResource";

export interface RunnerDeployment {
  runner: GitlabRunner;
  /** Settles when the preflight has passed (rejects with its failures); the runner waits for it. */
  ready: Promise<void>;
  /** The runner token, a secret (the resource also declares it a secret output, for the state). */
  token: pulumi.Output<string>;
  namespace: k8s.core.v1.Namespace;
  tokenSecret: k8s.core.v1.Secret;
  release: k8s.helm.v3.Release;
  cache?: { bucket: aws.s3.Bucket; role: aws.iam.Role };
  resources: pulumi.Resource[];
}

export interface RunnerContext {
  cluster: eks.Cluster;
  /** Kubernetes provider for the cluster (built from its kubeconfig). */
  k8sProvider: k8s.Provider;
  tags: Record<string, string>;
  /** The node pools (the manager and its jobs need nodes to schedule on). */
  dependsOn: pulumi.Resource[];
  env?: Record<string, string | undefined>;
}

/**
 * The runner in GitLab, owned by this stack. `runnerType` may be an output that resolves only after the
 * preflight. Used by deployRunner and by the real-engine test program (test/fixtures/real-gitlab).
 */
export function registerRunner(
  config: StackConfig,
  runner: RunnerConfig,
  target: GitlabTarget,
  runnerType: pulumi.Input<RunnerConfig["scope"]["runnerType"]> = runner.scope.runnerType,
): GitlabRunner {
  const scope = runner.scope;
  return new GitlabRunner("runner", {
    target,
    runnerType,
    ...(scope.runnerType === "project_type" ? { project: scope.project } : {}),
    ...(scope.runnerType === "group_type" ? { group: scope.group } : {}),
    description: runner.description,
    tags: runner.tags,
    runUntagged: runner.runUntagged,
    locked: runner.locked,
    accessLevel: runner.accessLevel,
    ...(runner.maximumTimeout !== undefined ? { maximumTimeout: runner.maximumTimeout } : {}),
    paused: runner.paused,
    owner: ownerOf(config.project, config.stack),
  });
}

export function deployRunner(
  config: StackConfig,
  runner: RunnerConfig,
  ctx: RunnerContext,
): RunnerDeployment {
  const resources: pulumi.Resource[] = [];
  const keep = <T extends pulumi.Resource>(r: T) => (resources.push(r), r);
  const conn = resolveConnection(config.gitlab, ctx.env ?? process.env);
  const scope = runner.scope;
  const ready = preflight(conn, runner, ctx.env ?? process.env);
  // The runner waits for the preflight: its type input resolves only when every check passed.
  const runnerType = pulumi.output(ready.then(() => scope.runnerType));

  const gitlabRunner = keep(
    registerRunner(config, runner, { url: conn.url, tokenVariable: conn.tokenVariable }, runnerType),
  );

  const k8sOpts = { provider: ctx.k8sProvider };
  const labels = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "gitlab-eks" };
  const namespace = keep(
    new k8s.core.v1.Namespace("runner", { metadata: { name: runner.namespace, labels } }, k8sOpts),
  );
  const nsOpts = { ...k8sOpts, dependsOn: [namespace] };

  const token = pulumi.secret(gitlabRunner.token);
  // The token in our own Secret (the chart reads it through runners.secret): never a Helm value.
  const secretShape = runnerTokenSecret(runner, "");
  const tokenSecret = keep(
    new k8s.core.v1.Secret(
      "runner-token",
      {
        metadata: {
          ...secretShape.metadata,
          labels,
          annotations: { [RUNNER_ID_ANNOTATION]: gitlabRunner.runnerId.apply(String) },
        },
        type: secretShape.type,
        stringData: {
          "runner-token": token,
          "runner-registration-token": "",
        },
      },
      nsOpts,
    ),
  );

  // Job pods run as this account: no RBAC bound to it, and no API token unless asked for.
  const jobAccount = keep(
    new k8s.core.v1.ServiceAccount(
      "runner-job",
      {
        metadata: { name: JOB_SERVICE_ACCOUNT, namespace: runner.namespace, labels },
        automountServiceAccountToken: runner.jobServiceAccountToken,
      },
      nsOpts,
    ),
  );

  const cache = runner.cache.enabled ? createCache(config, runner, ctx, keep) : undefined;

  const values = pulumi
    .all([
      gitlabRunner.runnerId,
      cache?.bucket.bucket ?? pulumi.output(undefined),
      cache?.role.arn ?? pulumi.output(undefined),
    ])
    .apply(([runnerId, cacheBucket, cacheRoleArn]) =>
      runnerHelmValues(config, runner, {
        gitlabUrl: conn.url,
        // A replaced runner has a new id: the manager's pods roll and read the new token.
        runnerId: String(runnerId),
        ...(cacheBucket ? { cacheBucket } : {}),
        ...(cacheRoleArn ? { cacheRoleArn } : {}),
      }),
    );

  const release = keep(
    new k8s.helm.v3.Release(
      "gitlab-runner",
      {
        name: RUNNER_RELEASE_NAME,
        chart: RUNNER_CHART,
        version: runner.chartVersion,
        repositoryOpts: { repo: RUNNER_CHART_REPO },
        namespace: runner.namespace,
        createNamespace: false,
        values,
        atomic: true,
        timeout: 600,
        maxHistory: 10,
      },
      {
        ...k8sOpts,
        dependsOn: [namespace, tokenSecret, jobAccount, ...(cache ? [cache.role] : []), ...ctx.dependsOn],
      },
    ),
  );

  return { runner: gitlabRunner, ready, token, namespace, tokenSecret, release, cache, resources };
}

/** Runs the runner preflight; a failed check stops the run (preview included) before the runner exists. */
async function preflight(
  conn: { url: string; tokenVariable: string },
  runner: RunnerConfig,
  env: Record<string, string | undefined>,
): Promise<void> {
  const failed = (await runnerPreflight(conn, runner.scope, env)).filter((c) => !c.ok);
  if (failed.length)
    throw new pulumi.RunError(
      `The GitLab runner cannot be created (nothing was created):\n` +
        failed.map((c) => `  ${c.name}: ${c.detail}`).join("\n") +
        `\nCheck again with: npx gitlab-eks doctor --stack ${pulumi.getStack()}`,
    );
}

/**
 * S3 cache: a private, encrypted, TLS-only bucket whose objects expire, and an IRSA role the manager's service
 * account assumes (the manager signs the cache URLs the job pods use).
 */
function createCache(
  config: StackConfig,
  runner: RunnerConfig,
  ctx: RunnerContext,
  keep: <T extends pulumi.Resource>(r: T) => T,
) {
  const name = config.cluster.name.toLowerCase();
  const bucket = keep(
    new aws.s3.Bucket("runner-cache", {
      bucketPrefix: `${name}-cache-`,
      // The cache is disposable: destroy must not fail because jobs left objects in it.
      forceDestroy: true,
      tags: { ...ctx.tags, Name: `${name}-runner-cache` },
    }),
  );
  const publicAccessBlock = keep(
    new aws.s3.BucketPublicAccessBlock("runner-cache", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
  );
  keep(
    new aws.s3.BucketPolicy(
      "runner-cache",
      {
        bucket: bucket.id,
        policy: bucket.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        ),
      },
      { dependsOn: [publicAccessBlock] },
    ),
  );
  keep(
    new aws.s3.BucketOwnershipControls("runner-cache", {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    }),
  );
  keep(
    new aws.s3.BucketServerSideEncryptionConfiguration("runner-cache", {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }),
  );
  keep(
    new aws.s3.BucketLifecycleConfiguration("runner-cache", {
      bucket: bucket.id,
      rules: [
        {
          id: "expire-cache",
          status: "Enabled",
          filter: {},
          expiration: { days: runner.cache.expirationDays },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        },
      ],
    }),
  );

  const issuer = ctx.cluster.oidcIssuer; // host/path, without https://
  const subject = `system:serviceaccount:${runner.namespace}:${MANAGER_SERVICE_ACCOUNT}`;
  const role = keep(
    new aws.iam.Role("runner-cache", {
      namePrefix: `${name}-runner-cache-`.slice(0, 38),
      description: `GitLab Runner manager (${subject}) of ${config.cluster.name}: S3 cache`,
      assumeRolePolicy: pulumi
        .all([ctx.cluster.oidcProviderArn, issuer])
        .apply(([arn, iss]) => JSON.stringify(irsaTrustPolicy(arn, iss, subject))),
      tags: ctx.tags,
    }),
  );
  keep(
    new aws.iam.RolePolicy("runner-cache", {
      role: role.id,
      policy: bucket.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
              Resource: `${arn}/*`,
            },
            { Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn },
          ],
        }),
      ),
    }),
  );
  return { bucket, role };
}
