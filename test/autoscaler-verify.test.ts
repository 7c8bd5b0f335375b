/**
 * What `gitlab-eks verify` says about Cluster Autoscaler, against the fake Kubernetes API: where its pod
 * runs, whether its status ConfigMap lists the runner pool's node group, how many runner nodes are up;
 * headroom placeholders on runner nodes are fine, elsewhere they are offenders. And the headroom
 * schedule's scale script, run with sh and curl against the fake API as the CronJob runs it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HEADROOM_DEPLOYMENT, HEADROOM_NAMESPACE, SCALE_SCRIPT } from "../infra/model/headroom";
import { cliAsync, projectDir } from "./support/cli";
import { FakeKube, kubeconfigFor, node, pod, startFakeKube, TLS_CERT } from "./support/fake-kube";

const TOKEN = "k8s-aws-v1.fake-bearer-token-autoscaler";
const RUNNER = { workload: "gitlab-runner" };
const TAINT = { taints: [{ key: "workload", value: "gitlab-runner", effect: "NoSchedule" }] };
const CA = { labels: { "gitlab-eks/component": "cluster-autoscaler" } };
const HEADROOM = { labels: { "gitlab-eks/component": "runner-headroom" } };
const MANAGER = pod("gitlab-runner", "gitlab-runner-6d5f", "sys-2", {
  labels: { "gitlab-eks/component": "runner-manager" },
});
const ASG = "eks-zero-dev-runner-20261122035500000000000001-a1b2c3d4";

/** A stack that scales from zero: the manager on the system pool, the autoscaler on (the default). */
const STACK = `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    name: zero-dev
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    agentProject: platform/clusters
  gitlab-eks:runnerPool:
    minSize: 0
    maxSize: 3
  gitlab-eks:runner:
    group: platform
    managerPlacement: system-pool
`;
const NO_AUTOSCALER =
  STACK.replace("    minSize: 0\n", "    minSize: 1\n") + "  gitlab-eks:autoscaler:\n    enabled: false\n";

const status = (groups: string[]) => ({
  "kube-system/cluster-autoscaler-status": {
    data: {
      status: `autoscalerStatus: Running\nnodeGroups:\n${groups.map((g) => `- name: ${g}\n  health:\n    status: Healthy\n`).join("")}`,
    },
  },
});

describe("gitlab-eks verify: Cluster Autoscaler and headroom", () => {
  let kube: FakeKube;
  let dir: string;
  let kubeconfig: string;
  const verify = (stack = "zero") =>
    cliAsync(["verify", "--stack", stack, "--kubeconfig", kubeconfig, "--dir", dir]);

  before(async () => {
    kube = await startFakeKube({ token: TOKEN });
    dir = projectDir({ zero: STACK, fixed: NO_AUTOSCALER });
    kubeconfig = path.join(dir, "kubeconfig.json");
    fs.writeFileSync(kubeconfig, kubeconfigFor(kube.url, { token: TOKEN }));
  });
  after(async () => {
    await kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    kube.nodes = [node("sys-1"), node("sys-2")];
    kube.pods = [pod("kube-system", "cluster-autoscaler-5f7", "sys-1", CA), MANAGER];
    for (const k of Object.keys(kube.configMaps)) delete kube.configMaps[k];
    Object.assign(kube.configMaps, status([ASG]));
    kube.requests.length = 0;
  });

  it("reports the autoscaler on a system node, the runner node group it sees, and zero runner nodes", async () => {
    const r = await verify();
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout.split("\n")[1],
      `ok: autoscaler pod kube-system/cluster-autoscaler-5f7 runs on system node sys-1; sees the runner pool's node group ${ASG}; 0 runner nodes up now`,
    );
    assert.ok(
      kube.requests.some(
        (q) => q.path === "/api/v1/namespaces/kube-system/configmaps/cluster-autoscaler-status",
      ),
    );
  });

  it("counts runner nodes and accepts headroom placeholders on them", async () => {
    kube.nodes = [node("sys-1"), node("run-1", RUNNER, TAINT), node("run-2", RUNNER, TAINT)];
    kube.pods = [...kube.pods, pod(HEADROOM_NAMESPACE, "runner-headroom-1", "run-1", HEADROOM)];
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^ok: 3 nodes \(2 runner nodes: run-1, run-2\), 3 pods checked \(1 runner manager, 0 job, 1 headroom\)\n/,
    );
    assert.match(r.stdout, /; 2 runner nodes up now\n$/);
  });

  it("fails (exit 1) when the autoscaler runs on a runner node, or a placeholder off the runner pool", async () => {
    kube.nodes = [node("sys-1"), node("run-1", RUNNER, TAINT)];
    kube.pods = [
      pod("kube-system", "cluster-autoscaler-5f7", "run-1", CA),
      pod(HEADROOM_NAMESPACE, "runner-headroom-1", "sys-1", HEADROOM),
    ];
    const r = await verify();
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^pod kube-system\/cluster-autoscaler-5f7: not a runner pod, but runs on runner node run-1/m,
    );
    assert.match(
      r.stderr,
      /^pod gitlab-eks-headroom\/runner-headroom-1: a runner headroom placeholder on node sys-1, outside the runner pool/m,
    );
    assert.match(
      r.stderr,
      /^autoscaler: pod kube-system\/cluster-autoscaler-5f7 runs on runner node run-1; it belongs on the system pool$/m,
    );
  });

  it("fails when no autoscaler pod runs, or its status is missing", async () => {
    kube.pods = [pod("kube-system", "cluster-autoscaler-5f7", undefined, CA)];
    delete kube.configMaps["kube-system/cluster-autoscaler-status"];
    const r = await verify();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^autoscaler: no running Cluster Autoscaler pod in kube-system \(label gitlab-eks\/component=cluster-autoscaler\)/m,
    );
    assert.match(r.stderr, /^autoscaler: no status ConfigMap kube-system\/cluster-autoscaler-status/m);
  });

  it("fails when the autoscaler's status does not list the runner pool's node group", async () => {
    Object.assign(kube.configMaps, status(["eks-other-cluster-runner-20261122035500000000000001-ffff"]));
    const r = await verify();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /autoscaler: its status \(cluster-autoscaler-status\) lists no node group eks-zero-dev-runner-\.\.\.; it does not manage the runner pool\. Check that the pool's Auto Scaling group carries the tags k8s\.io\/cluster-autoscaler\/enabled, k8s\.io\/cluster-autoscaler\/zero-dev, k8s\.io\/cluster-autoscaler\/node-template\/label\/workload=gitlab-runner$/m,
    );
  });

  it("asks nothing about the autoscaler when the stack has none", async () => {
    kube.pods = [];
    const r = await verify("fixed");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /autoscaler/);
    assert.ok(kube.requests.every((q) => !q.path.includes("configmaps")));
  });
});

describe("headroom schedule: the CronJob's scale script (sh + curl against the fake API)", () => {
  let kube: FakeKube;
  let sa: string;

  before(async () => {
    kube = await startFakeKube({
      token: TOKEN,
      deployments: { [`${HEADROOM_NAMESPACE}/${HEADROOM_DEPLOYMENT}`]: 0 },
    });
    // What Kubernetes mounts into the pod: the API's CA and the service account's token.
    sa = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-sa-"));
    fs.writeFileSync(path.join(sa, "ca.crt"), TLS_CERT);
    fs.writeFileSync(path.join(sa, "token"), TOKEN);
  });
  after(async () => {
    await kube.close();
    fs.rmSync(sa, { recursive: true, force: true });
  });

  const run = (replicas: number, token = TOKEN) => {
    fs.writeFileSync(path.join(sa, "token"), token);
    const url = new URL(kube.url);
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn("/bin/sh", ["-c", SCALE_SCRIPT], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          SERVICE_ACCOUNT_DIR: sa,
          KUBERNETES_SERVICE_HOST: url.hostname,
          KUBERNETES_SERVICE_PORT: url.port,
          NAMESPACE: HEADROOM_NAMESPACE,
          DEPLOYMENT: HEADROOM_DEPLOYMENT,
          REPLICAS: String(replicas),
        },
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("close", (code) => resolve({ code, out }));
    });
  };

  it("patches the placeholder Deployment's scale with a merge patch and the pod's token", async () => {
    const up = await run(2);
    assert.equal(up.code, 0, up.out);
    assert.equal(kube.deployments[`${HEADROOM_NAMESPACE}/${HEADROOM_DEPLOYMENT}`], 2);
    const [req] = kube.requests.filter((q) => q.method === "PATCH");
    assert.equal(
      req.path,
      `/apis/apps/v1/namespaces/${HEADROOM_NAMESPACE}/deployments/${HEADROOM_DEPLOYMENT}/scale`,
    );
    assert.equal(req.contentType, "application/merge-patch+json");
    assert.equal(req.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(req.body!), { spec: { replicas: 2 } });
    assert.match(up.out, /scaled gitlab-eks-headroom\/runner-headroom to 2/);
    assert.doesNotMatch(up.out, new RegExp(TOKEN), "the token is never printed");

    const down = await run(0);
    assert.equal(down.code, 0, down.out);
    assert.equal(kube.deployments[`${HEADROOM_NAMESPACE}/${HEADROOM_DEPLOYMENT}`], 0);
  });

  it("fails the Job (non-zero exit, the API's answer printed) when the API refuses", async () => {
    const refused = await run(1, "not-the-token");
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /Unauthorized/);
    assert.equal(kube.deployments[`${HEADROOM_NAMESPACE}/${HEADROOM_DEPLOYMENT}`], 0);
  });
});
