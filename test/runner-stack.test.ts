/**
 * The runner's Pulumi resources under mocks: the GitLab runner (no token in its inputs), our token
 * Secret, namespace, job service account, the Helm release's values, and the S3 cache with its IRSA role.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "smol-toml";
import type { StackConfig } from "../infra/config/types";
import { configOf, minimal } from "./support/config";
import { deployUnderMocks } from "./support/deploy";
import { gitlabWorld, GitlabWorld } from "./support/gitlab-world";
import {
  ACCOUNT,
  MOCK_RUNNER_ID,
  MOCK_RUNNER_TOKEN,
  RecordingMocks,
  RUNNER_RESOURCE_TYPE,
  settle,
  valueOf,
} from "./support/pulumi-mocks";

const OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";

let world: GitlabWorld;
before(async () => {
  world = await gitlabWorld();
});
after(() => world.fake.close());
const deploy = (config: StackConfig, env?: Record<string, string>) =>
  deployUnderMocks(world, config.stack, config, env);

const stackWith = (runner: Record<string, unknown>, stack = "dev") =>
  configOf(
    minimal({
      "gitlab-eks:gitlab": {
        url: "https://gitlab.example.com",
        tokenVariable: "GL_TOKEN",
        agentProject: "platform/clusters",
      },
      "gitlab-eks:agent": { enabled: false },
      "gitlab-eks:runner": { group: "platform", tags: ["eks"], ...runner },
    }),
    stack,
  );

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("runner resources under Pulumi mocks", () => {
  describe("without cache", () => {
    let mocks: RecordingMocks;
    let deployed: Awaited<ReturnType<typeof deploy>>["deployed"];
    const config = stackWith({ maximumTimeout: 3600 });

    before(async () => {
      ({ mocks, deployed } = await deploy(config, { GL_TOKEN: world.maintainerToken }));
    });

    it("creates the runner in GitLab from config, with the token's variable NAME only", () => {
      const [r] = mocks.ofType(RUNNER_RESOURCE_TYPE);
      assert.equal(mocks.ofType(RUNNER_RESOURCE_TYPE).length, 1);
      const i = r.inputs;
      assert.deepEqual(i.target, { url: world.fake.url, tokenVariable: "GL_TOKEN" });
      assert.equal(i.runnerType, "group_type");
      assert.equal(i.group, "platform");
      assert.equal(i.project, undefined);
      assert.deepEqual(i.tags, ["eks"]);
      assert.equal(i.runUntagged, true);
      assert.equal(i.accessLevel, "not_protected");
      assert.equal(i.maximumTimeout, 3600);
      assert.equal(i.description, "gitlab-eks-dev (gitlab-eks)");
      assert.equal(typeof i.__provider, "string", "the serialized provider");
      assert.doesNotMatch(JSON.stringify(i), /glrt-|glpat-/);
    });

    it("marks the runner token a secret, and puts it only in our Secret", async () => {
      const token = deployed.runner!.token;
      assert.equal(await valueOf(token), MOCK_RUNNER_TOKEN);
      assert.equal(await pulumi.isSecret(token), true);
      const secret = mocks.one("kubernetes:core/v1:Secret", "runner-token").inputs;
      assert.equal(secret.metadata.name, "gitlab-runner-token");
      assert.equal(secret.metadata.namespace, "gitlab-runner");
      // Sent to the engine as a secret value (Pulumi's secret signature), so the state keeps it encrypted.
      assert.equal(secret.stringData[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
      assert.deepEqual(secret.stringData.value, {
        "runner-token": MOCK_RUNNER_TOKEN,
        "runner-registration-token": "",
      });
      for (const r of mocks.resources.filter(
        (x) => x.type !== "kubernetes:core/v1:Secret" && x.type !== RUNNER_RESOURCE_TYPE,
      ))
        assert.ok(!JSON.stringify(r.inputs).includes(MOCK_RUNNER_TOKEN), `token in ${r.type} ${r.name}`);
    });

    it("creates the namespace and a job service account without an API token", () => {
      assert.equal(mocks.one("kubernetes:core/v1:Namespace", "runner").inputs.metadata.name, "gitlab-runner");
      const sa = mocks.one("kubernetes:core/v1:ServiceAccount", "runner-job").inputs;
      assert.equal(sa.metadata.name, "gitlab-runner-job");
      assert.equal(sa.metadata.namespace, "gitlab-runner");
      assert.equal(sa.automountServiceAccountToken, false);
    });

    it("installs the pinned gitlab-runner chart with the token Secret, namespaced RBAC and both placements", () => {
      const rel = mocks.one("kubernetes:helm.sh/v3:Release", "gitlab-runner").inputs;
      assert.equal(rel.chart, "gitlab-runner");
      assert.equal(rel.version, "0.86.0");
      assert.deepEqual(rel.repositoryOpts, { repo: "https://charts.gitlab.io" });
      assert.equal(rel.namespace, "gitlab-runner");
      assert.equal(rel.name, "gitlab-runner");
      const v: Any = rel.values;
      assert.equal(v.gitlabUrl, world.fake.url);
      assert.equal(v.runners.secret, "gitlab-runner-token");
      assert.equal(v.runnerToken, undefined);
      assert.equal(v.rbac.create, true);
      assert.equal(v.rbac.clusterWideAccess, false);
      assert.deepEqual(v.tolerations, [
        { key: "workload", operator: "Equal", value: "gitlab-runner", effect: "NoSchedule" },
      ]);
      assert.deepEqual(
        v.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
        [{ matchExpressions: [{ key: "workload", operator: "In", values: ["gitlab-runner"] }] }],
      );
      const k = (parse(v.runners.config) as Any).runners[0].kubernetes;
      assert.deepEqual({ ...k.node_tolerations }, { "workload=gitlab-runner": "NoSchedule" });
      assert.deepEqual({ ...k.node_selector }, { workload: "gitlab-runner" });
      assert.equal((parse(v.runners.config) as Any).runners[0].cache, undefined);
      assert.deepEqual(v.serviceAccount, { create: true, name: "gitlab-runner", annotations: {} });
      assert.doesNotMatch(JSON.stringify(rel), /glrt-/);
    });

    it("rolls the manager from the runner's id (a replaced runner has a new one), as the Secret records", () => {
      // The chart's checksum/secrets hashes an empty template with runners.secret: without this, a new
      // runner's token would reach the Secret but never the running manager.
      const v: Any = mocks.one("kubernetes:helm.sh/v3:Release", "gitlab-runner").inputs.values;
      assert.deepEqual(v.podAnnotations, { "gitlab-eks/runner-id": String(MOCK_RUNNER_ID) });
      const secret = mocks.one("kubernetes:core/v1:Secret", "runner-token").inputs;
      assert.deepEqual(secret.metadata.annotations, { "gitlab-eks/runner-id": String(MOCK_RUNNER_ID) });
    });

    it("creates no cache bucket or role", () => {
      assert.equal(mocks.ofType("aws:s3/bucket:Bucket").length, 0);
      // (Cluster Autoscaler's role has a policy of its own: test/autoscaler-stack.test.ts.)
      assert.ok(mocks.ofType("aws:iam/rolePolicy:RolePolicy").every((p) => p.name !== "runner-cache"));
      assert.ok(mocks.ofType("aws:iam/role:Role").every((r) => r.name !== "runner-cache"));
    });
  });

  describe("with the S3 cache and the manager on the system pool", () => {
    let mocks: RecordingMocks;
    const config = stackWith(
      { managerPlacement: "system-pool", cache: { enabled: true, expirationDays: 9 } },
      "staging",
    );

    before(async () => {
      ({ mocks } = await deploy(config, { GL_TOKEN: world.maintainerToken }));
    });

    it("creates a private, encrypted bucket whose objects expire", () => {
      const bucket = mocks.one("aws:s3/bucket:Bucket", "runner-cache").inputs;
      assert.equal(bucket.bucketPrefix, "gitlab-eks-staging-cache-");
      assert.equal(bucket.forceDestroy, true);
      const bucketName = "gitlab-eks-staging-cache-20261122000000000000000001";
      const pab = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "runner-cache").inputs;
      assert.deepEqual(pab, {
        bucket: bucketName,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const sse = mocks.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "runner-cache",
      ).inputs;
      assert.equal(sse.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
      const life = mocks.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "runner-cache",
      ).inputs;
      assert.equal(life.bucket, bucketName);
      assert.equal(life.rules[0].status, "Enabled");
      assert.deepEqual(life.rules[0].expiration, { days: 9 });
      const tls = JSON.parse(mocks.one("aws:s3/bucketPolicy:BucketPolicy", "runner-cache").inputs.policy);
      assert.deepEqual(tls.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
      assert.equal(tls.Statement[0].Effect, "Deny");
      const own = mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "runner-cache").inputs;
      assert.equal(own.rule.objectOwnership, "BucketOwnerEnforced");
    });

    it("gives the manager's service account (only) an IRSA role with access to that bucket", () => {
      const role = mocks.one("aws:iam/role:Role", "runner-cache").inputs;
      const trust = JSON.parse(role.assumeRolePolicy);
      assert.equal(trust.Statement.length, 1);
      const st = trust.Statement[0];
      assert.equal(st.Action, "sts:AssumeRoleWithWebIdentity");
      assert.equal(st.Principal.Federated, `arn:aws:iam::${ACCOUNT}:oidc-provider/${OIDC}`);
      assert.deepEqual(st.Condition.StringEquals, {
        [`${OIDC}:sub`]: "system:serviceaccount:gitlab-runner:gitlab-runner",
        [`${OIDC}:aud`]: "sts.amazonaws.com",
      });
      const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "runner-cache").inputs.policy);
      const arn = "arn:aws:s3:::gitlab-eks-staging-cache-20261122000000000000000001";
      assert.deepEqual(policy.Statement, [
        {
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
          Resource: `${arn}/*`,
        },
        { Effect: "Allow", Action: ["s3:ListBucket"], Resource: arn },
      ]);
    });

    it("wires bucket and role into the chart values and the runner's [runners.cache]", () => {
      const v: Any = mocks.one("kubernetes:helm.sh/v3:Release", "gitlab-runner").inputs.values;
      assert.deepEqual(v.serviceAccount.annotations, {
        "eks.amazonaws.com/role-arn": `arn:aws:iam::${ACCOUNT}:role/runner-cache`,
      });
      const cache = JSON.parse(JSON.stringify((parse(v.runners.config) as Any).runners[0].cache));
      assert.deepEqual(cache, {
        Type: "s3",
        Shared: true,
        Path: "gitlab-eks-staging",
        s3: {
          ServerAddress: "s3.amazonaws.com",
          BucketName: "gitlab-eks-staging-cache-20261122000000000000000001",
          BucketLocation: "eu-west-1",
          AuthenticationType: "iam",
        },
      });
    });

    it("keeps the manager off the runner pool (system-pool placement)", () => {
      const v: Any = mocks.one("kubernetes:helm.sh/v3:Release", "gitlab-runner").inputs.values;
      assert.deepEqual(v.tolerations, []);
      assert.deepEqual(
        v.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
        [{ matchExpressions: [{ key: "workload", operator: "NotIn", values: ["gitlab-runner"] }] }],
      );
    });
  });

  describe("a failed preflight creates no runner", () => {
    async function expectNoRunner(config: StackConfig, env: Record<string, string>, ...messages: RegExp[]) {
      const mocks = new RecordingMocks();
      await pulumi.runtime.setMocks(mocks, "gitlab-eks", config.stack, false);
      const { deployStack } = await import("../infra/cloud/stack");
      const deployed = deployStack({ ...config, gitlab: { ...config.gitlab, url: world.fake.url } }, { env });
      const err = await deployed.runner!.ready.then(
        () => assert.fail("the preflight passed"),
        (e: Error) => e,
      );
      for (const m of messages) assert.match(err.message, m);
      assert.match(err.message, /^The GitLab runner cannot be created/);
      await settle(deployed.resources.filter((r) => !deployed.runner!.resources.includes(r)));
      assert.equal(mocks.ofType(RUNNER_RESOURCE_TYPE).length, 0);
      assert.equal(world.fake.state.runners.length, 0);
    }

    it("without a token", async () => {
      await expectNoRunner(stackWith({}), {}, /token: .*GL_TOKEN environment variable/);
    });

    it("with a token lacking create_runner/manage_runner, or for instance_type without an administrator", async () => {
      await expectNoRunner(
        stackWith({}),
        { GL_TOKEN: world.readOnlyToken },
        /token scopes: scopes: read_api; creating a runner needs create_runner/,
      );
      await expectNoRunner(
        stackWith({ group: undefined, runnerType: "instance_type" }),
        { GL_TOKEN: world.maintainerToken },
        /role: platform-bot is not an administrator; only administrators can create instance_type runners/,
      );
    });

    it("when the group does not exist, or a project role is too low", async () => {
      await expectNoRunner(
        stackWith({ group: "nope" }),
        { GL_TOKEN: world.maintainerToken },
        /group nope was not found/,
      );
      await expectNoRunner(
        stackWith({ group: undefined, project: "platform/clusters" }),
        { GL_TOKEN: world.developerToken },
        /role: Developer on platform\/clusters; creating a project runner needs Maintainer or Owner/,
      );
    });
  });
});
