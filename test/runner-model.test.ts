/**
 * The runner's config.toml template and chart values, parsed back, and a scheduling check applying
 * Kubernetes' placement rules to the rendered node pools and pod specs.
 */
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { parse as parseYaml } from "yaml";
import type { StackConfig } from "../infra/config/types";
import { isolationRule } from "../infra/model/isolation";
import { desiredNodePools } from "../infra/model/nodePools";
import { renderStack } from "../infra/model/render";
import {
  JOB_SERVICE_ACCOUNT,
  RUNNER_ID_ANNOTATION,
  RUNNER_TOKEN_SECRET,
  runnerConfigToml,
  runnerHelmValues,
} from "../infra/model/runner";
import { configOf, minimal } from "./support/config";
import {
  canSchedule,
  jobPodFromToml,
  SchedNode,
  SchedPod,
  tolerates,
  unschedulableReason,
} from "./support/scheduling";

/** TOML as plain objects (smol-toml gives null-prototype objects, which deepEqual tells apart). */
const parseToml = (text: string): unknown => JSON.parse(JSON.stringify(parse(text)));

const runnerStack = (runner: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  configOf(minimal({ "gitlab-eks:runner": { group: "platform", ...runner }, ...extra }));

const FACTS = { gitlabUrl: "https://gitlab.example.com", runnerId: "41" };

/** The rendered node pools as nodes a scheduler would see. */
function nodesOf(config: StackConfig): SchedNode[] {
  return desiredNodePools(config).map((p) => ({ name: p.role, labels: p.labels, taints: p.taints }));
}

/** Where a pod may go among the rendered pools. */
function placesFor(pod: SchedPod, config: StackConfig): string[] {
  return nodesOf(config)
    .filter((n) => canSchedule(pod, n))
    .map((n) => n.name);
}

function managerPod(config: StackConfig): SchedPod {
  // The chart copies affinity, tolerations and nodeSelector into the manager's pod spec; read them back
  // from the rendered YAML, as Helm does.
  return parseYaml(renderStack(config)["runner-values.yaml"]) as SchedPod;
}

function jobPod(config: StackConfig): SchedPod {
  return jobPodFromToml(renderStack(config)["runner-config.toml"]);
}

describe("scheduling check (Kubernetes placement rules)", () => {
  describe("the checker itself", () => {
    const taint = { key: "workload", value: "gitlab-runner", effect: "NoSchedule" as const };
    it("matches tolerations by key, operator, value and effect", () => {
      assert.equal(
        tolerates(
          { key: "workload", operator: "Equal", value: "gitlab-runner", effect: "NoSchedule" },
          taint,
        ),
        true,
      );
      assert.equal(
        tolerates({ key: "workload", value: "gitlab-runner" }, taint),
        true,
        "no effect: every effect",
      );
      assert.equal(
        tolerates({ key: "workload", operator: "Equal", value: "other", effect: "NoSchedule" }, taint),
        false,
      );
      assert.equal(
        tolerates({ key: "workload", operator: "Equal", value: "gitlab-runner", effect: "NoExecute" }, taint),
        false,
      );
      assert.equal(tolerates({ key: "workload", operator: "Exists", effect: "NoSchedule" }, taint), true);
      assert.equal(
        tolerates({ operator: "Exists" }, taint),
        true,
        "empty key with Exists tolerates everything",
      );
      assert.equal(tolerates({ key: "other", operator: "Exists" }, taint), false);
    });
    it("applies nodeSelector, required affinity operators and ignores PreferNoSchedule", () => {
      const node: SchedNode = {
        name: "n",
        labels: { a: "1", n: "5" },
        taints: [{ key: "x", effect: "PreferNoSchedule" }],
      };
      assert.equal(canSchedule({}, node), true);
      assert.match(unschedulableReason({ nodeSelector: { a: "2" } }, node)!, /nodeSelector/);
      const aff = (e: SchedPod["affinity"]) => ({ affinity: e });
      const req = (...matchExpressions: object[]) =>
        aff({
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions } as never],
            },
          },
        });
      assert.equal(canSchedule(req({ key: "a", operator: "In", values: ["1"] }), node), true);
      assert.equal(canSchedule(req({ key: "a", operator: "NotIn", values: ["1"] }), node), false);
      assert.equal(canSchedule(req({ key: "b", operator: "NotIn", values: ["1"] }), node), true);
      assert.equal(canSchedule(req({ key: "b", operator: "Exists" }), node), false);
      assert.equal(canSchedule(req({ key: "n", operator: "Gt", values: ["4"] }), node), true);
      assert.equal(canSchedule(req(), node), false, "an empty term matches nothing");
    });
  });

  for (const isolation of [undefined, { labelKey: "example.com/pool", labelValue: "ci" }]) {
    const extra = isolation ? { "gitlab-eks:isolation": isolation } : {};
    const label = isolation ? "example.com/pool=ci" : "workload=gitlab-runner";

    describe(`with isolation ${label}`, () => {
      it("a pod with no tolerations can never land on the runner pool, even if it requires the label", () => {
        const config = runnerStack({}, extra);
        const rule = isolationRule(config.isolation);
        assert.deepEqual(placesFor({}, config), ["system"]);
        assert.deepEqual(placesFor({ nodeSelector: rule.nodeSelector }, config), []);
        assert.deepEqual(placesFor({ affinity: rule.affinity }, config), []);
      });

      it("job pods can only land on the runner pool (config.toml placement)", () => {
        for (const managerPlacement of ["runner-pool", "system-pool"]) {
          const config = runnerStack({ managerPlacement }, extra);
          assert.deepEqual(placesFor(jobPod(config), config), ["runner"]);
        }
      });

      it("without its affinity and selector a tolerating job pod could land anywhere; that is why both are set", () => {
        const config = runnerStack({}, extra);
        const pod = jobPod(config);
        assert.deepEqual(placesFor({ tolerations: pod.tolerations }, config), ["system", "runner"]);
        assert.deepEqual(placesFor({ ...pod, tolerations: [] }, config), []);
      });

      it("the manager lands only on the runner pool by default (managerPlacement runner-pool)", () => {
        const config = runnerStack({}, extra);
        assert.equal(config.runner!.managerPlacement, "runner-pool");
        assert.deepEqual(placesFor(managerPod(config), config), ["runner"]);
      });

      it("the manager lands only on the system pool with managerPlacement system-pool", () => {
        const config = runnerStack({ managerPlacement: "system-pool" }, extra);
        assert.deepEqual(placesFor(managerPod(config), config), ["system"]);
        // Even on an untainted node carrying the label, its affinity keeps it away.
        const rule = isolationRule(config.isolation);
        assert.equal(
          canSchedule(managerPod(config), { name: "x", labels: rule.nodeLabels, taints: [] }),
          false,
        );
      });
    });
  }
});

describe("runner config.toml", () => {
  const config = runnerStack({
    tags: ["eks"],
    pollTimeout: 300,
    jobResources: { cpuRequest: "250m", memoryLimit: "3Gi" },
    helperResources: { memoryRequest: "64Mi" },
  });
  const toml = runnerConfigToml(config, config.runner!, FACTS);
  const data = parseToml(toml) as { runners: Record<string, any>[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const k = data.runners[0].kubernetes;

  it("is one [[runners]] entry for the Kubernetes executor in the runner namespace", () => {
    assert.equal(data.runners.length, 1);
    assert.equal(data.runners[0].executor, "kubernetes");
    assert.equal(k.namespace, "gitlab-runner");
    assert.equal(k.image, "alpine:3");
    assert.equal(k.service_account, JOB_SERVICE_ACCOUNT);
  });

  it("pins job pods with node_selector, node_tolerations and required node affinity", () => {
    assert.deepEqual(k.node_selector, { workload: "gitlab-runner" });
    assert.deepEqual(k.node_tolerations, { "workload=gitlab-runner": "NoSchedule" });
    assert.deepEqual(k.affinity, {
      node_affinity: {
        required_during_scheduling_ignored_during_execution: {
          node_selector_terms: [
            { match_expressions: [{ key: "workload", operator: "In", values: ["gitlab-runner"] }] },
          ],
        },
      },
    });
  });

  it("sets resources with caps, helper resources, poll timeout, unprivileged, and no eviction by the autoscaler", () => {
    assert.equal(k.cpu_request, "250m");
    assert.equal(k.cpu_limit, "1");
    assert.equal(k.memory_request, "1Gi");
    assert.equal(k.memory_limit, "3Gi");
    assert.equal(k.cpu_request_overwrite_max_allowed, "1500m");
    assert.equal(k.cpu_limit_overwrite_max_allowed, "2");
    assert.equal(k.memory_request_overwrite_max_allowed, "2Gi");
    assert.equal(k.memory_limit_overwrite_max_allowed, "3Gi");
    assert.equal(k.helper_memory_request, "64Mi");
    assert.equal(k.helper_cpu_request, "100m");
    assert.equal(k.poll_timeout, 300);
    assert.equal(k.privileged, false);
    assert.deepEqual(k.pod_annotations, { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" });
    assert.deepEqual(k.pod_labels, { "gitlab-eks/component": "runner-job" });
  });

  it("has no cache section unless the cache is on, then S3 with IAM authentication", () => {
    assert.equal(data.runners[0].cache, undefined);
    const cached = runnerStack({ cache: { enabled: true } });
    const c = parseToml(runnerConfigToml(cached, cached.runner!, { ...FACTS, cacheBucket: "bucket-1" })) as {
      runners: { cache: Record<string, unknown> }[];
    };
    assert.deepEqual(c.runners[0].cache, {
      Type: "s3",
      Shared: true,
      Path: "gitlab-eks-dev",
      s3: {
        ServerAddress: "s3.amazonaws.com",
        BucketName: "bucket-1",
        BucketLocation: "eu-west-1",
        AuthenticationType: "iam",
      },
    });
  });

  it("is built from data: odd isolation values stay quoted TOML strings", () => {
    const odd = runnerStack(
      {},
      { "gitlab-eks:isolation": { labelKey: "example.com/pool", labelValue: "ci.x_1" } },
    );
    const parsed = parseToml(runnerConfigToml(odd, odd.runner!, FACTS)) as typeof data;
    assert.deepEqual(parsed.runners[0].kubernetes.node_tolerations, {
      "example.com/pool=ci.x_1": "NoSchedule",
    });
    assert.deepEqual(parsed.runners[0].kubernetes.node_selector, { "example.com/pool": "ci.x_1" });
  });
});

describe("runner chart values", () => {
  const config = runnerStack({ concurrent: 4, checkInterval: 5, managerResources: { cpuLimit: "1" } });
  const values = runnerHelmValues(config, config.runner!, FACTS);

  it("points at GitLab and the token Secret, never a token", () => {
    assert.equal(values.gitlabUrl, "https://gitlab.example.com");
    assert.equal(values.runners.secret, RUNNER_TOKEN_SECRET);
    assert.equal("runnerToken" in values, false);
    assert.equal("runnerRegistrationToken" in values, false);
    assert.equal(values.runners.config, runnerConfigToml(config, config.runner!, FACTS));
  });

  it("rolls the manager when the runner is replaced: the runner id is a pod annotation, the token is not", () => {
    // With runners.secret the chart's checksum/secrets hashes an empty template, so only this changes
    // the pod template when a new runner (and token) replaces the old one.
    assert.deepEqual(values.podAnnotations, { [RUNNER_ID_ANNOTATION]: "41" });
    const replaced = runnerHelmValues(config, config.runner!, { ...FACTS, runnerId: "42" });
    assert.notDeepEqual(replaced.podAnnotations, values.podAnnotations);
    assert.doesNotMatch(JSON.stringify(values), /glrt-/);
  });

  it("sets concurrency, check interval, namespaced RBAC, its own service account and manager resources", () => {
    assert.equal(values.concurrent, 4);
    assert.equal(values.checkInterval, 5);
    assert.equal(values.rbac.create, true);
    assert.equal(values.rbac.clusterWideAccess, false);
    const resources = values.rbac.rules.flatMap((r) => r.resources);
    assert.ok(resources.includes("pods") && resources.includes("pods/exec") && resources.includes("secrets"));
    assert.ok(!resources.includes("*") && !values.rbac.rules.some((r) => r.verbs.includes("*")));
    assert.deepEqual(values.serviceAccount, { create: true, name: "gitlab-runner", annotations: {} });
    assert.deepEqual(values.resources, {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "1", memory: "256Mi" },
    });
  });

  it("annotates the manager's service account with the IRSA role when the cache is on", () => {
    const cached = runnerStack({ cache: { enabled: true } });
    const v = runnerHelmValues(cached, cached.runner!, {
      ...FACTS,
      cacheBucket: "b",
      cacheRoleArn: "arn:aws:iam::1:role/r",
    });
    assert.deepEqual(v.serviceAccount.annotations, { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r" });
  });
});

describe("render: runner files", () => {
  it("adds runner-values.yaml, runner-config.toml (the exact runners.config) and the token Secret as [secret]", () => {
    const config = runnerStack({});
    const files = renderStack(config);
    const values = parseYaml(files["runner-values.yaml"]) as { runners: { config: string } };
    assert.equal(values.runners.config, files["runner-config.toml"]);
    parseToml(files["runner-config.toml"]);
    const secret = parseYaml(files["runner-token-secret.yaml"]) as { stringData: Record<string, string> };
    assert.deepEqual(secret.stringData, { "runner-token": "[secret]", "runner-registration-token": "" });
    assert.deepEqual((parseYaml(files["runner-values.yaml"]) as { podAnnotations: unknown }).podAnnotations, {
      [RUNNER_ID_ANNOTATION]: "[created by pulumi up]",
    });
  });

  it("adds nothing for a stack without a runner section", () => {
    const names = Object.keys(renderStack(configOf(minimal())));
    assert.ok(names.includes("node-pools.json"));
    assert.deepEqual(
      names.filter((n) => n.startsWith("runner")),
      [],
    );
  });
});
