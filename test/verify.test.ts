/**
 * `gitlab-eks verify` against a fake Kubernetes API server on 127.0.0.1, run as a user runs it (child
 * process): clean cluster, every offender named, pagination, TLS with the kubeconfig's CA, exec
 * credentials, the kubeconfig read through a stand-in `pulumi`, and clear failures.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configOf, minimal } from "./support/config";
import { CLI, ROOT } from "./support/cli";
import { isolationRule } from "../infra/model/isolation";
import { checkPlacement } from "../infra/model/placementCheck";
import { FakeKube, kubeconfigFor, node, pod, startFakeKube } from "./support/fake-kube";

const TOKEN = "k8s-aws-v1.fake-bearer-token";

/** Runs the CLI without blocking this process (the fake API server lives here). */
function cliAsync(args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const RUNNER_LABELS = { workload: "gitlab-runner" };
const RUNNER_TAINT = { taints: [{ key: "workload", value: "gitlab-runner", effect: "NoSchedule" }] };
const DS = { ownerReferences: [{ kind: "DaemonSet", name: "aws-node" }] };
const MANAGER = { labels: { "gitlab-eks/component": "runner-manager", app: "gitlab-runner" } };
const JOB = { labels: { "gitlab-eks/component": "runner-job" } };

const NODES = [node("sys-1"), node("sys-2"), node("run-1", RUNNER_LABELS, RUNNER_TAINT)];
const CLEAN_PODS = [
  pod("kube-system", "coredns-6d4b", "sys-1"),
  pod("kube-system", "aws-node-x1", "run-1", DS),
  pod("kube-system", "kube-proxy-x1", "run-1", {
    ownerReferences: [{ kind: "DaemonSet", name: "kube-proxy" }],
  }),
  pod("gitlab-runner", "gitlab-runner-5b6cc88b68-gd5nt", "run-1", MANAGER),
  pod("gitlab-runner", "runner-t1htgj4s-project-1-concurrent-0-areczxil", "run-1", JOB),
  pod("gitlab-agent", "gitlab-agent-v2-7f9", "sys-2"),
  pod("default", "pending-web", undefined),
];
/**
 * The dev example runs the manager on the system pool and Cluster Autoscaler (on by default), whose
 * status ConfigMap lists the runner pool's Auto Scaling group.
 */
const AUTOSCALER = { labels: { "gitlab-eks/component": "cluster-autoscaler" } };
const DEV_PODS = [
  ...CLEAN_PODS.map((p) =>
    p.metadata.labels?.["gitlab-eks/component"] === "runner-manager"
      ? { ...p, spec: { nodeName: "sys-2" } }
      : p,
  ),
  pod("kube-system", "cluster-autoscaler-7c9d", "sys-1", AUTOSCALER),
];
const DEV_RUNNER_ASG = "eks-gitlab-eks-dev-runner-20261122035500000000000001-a1b2c3d4";
const STATUS = {
  "kube-system/cluster-autoscaler-status": {
    data: {
      status:
        "time: 2026-12-05 21:00:00.000000 +0000 UTC\nautoscalerStatus: Running\nnodeGroups:\n" +
        `- name: ${DEV_RUNNER_ASG}\n  health:\n    status: Healthy\n    minSize: 0\n    maxSize: 3\n`,
    },
  },
};
const OFFENDING_PODS = [
  pod("default", "web-1", "run-1"),
  pod("gitlab-runner", "runner-abc-project-2-concurrent-0-x", "sys-1", JOB),
];

describe("placement check (verify's rules)", () => {
  const rule = isolationRule({ labelKey: "workload", labelValue: "gitlab-runner" });

  it("passes a clean cluster and counts what it checked", () => {
    const r = checkPlacement(NODES, CLEAN_PODS, rule, "runner-pool");
    assert.deepEqual(r.offenders, []);
    assert.deepEqual(r.runnerNodes, ["run-1"]);
    assert.equal(r.checkedPods, 4, "DaemonSet and unscheduled pods are not checked");
    assert.equal(r.managerPods, 1);
    assert.equal(r.jobPods, 1);
  });

  it("names a foreign pod on a runner node, a job pod off the pool, and a misplaced manager", () => {
    const r = checkPlacement(NODES, [...CLEAN_PODS, ...OFFENDING_PODS], rule, "system-pool");
    assert.equal(r.offenders.length, 3);
    assert.match(
      r.offenders[0],
      /^pod gitlab-runner\/gitlab-runner-5b6cc88b68-gd5nt: the runner manager runs on runner node run-1, but managerPlacement is system-pool/,
    );
    assert.match(r.offenders[1], /^pod default\/web-1: not a runner pod, but runs on runner node run-1/);
    assert.match(
      r.offenders[2],
      /^pod gitlab-runner\/runner-abc-project-2-concurrent-0-x: a runner job pod on node sys-1, outside the runner pool/,
    );
  });

  it("treats a node with only the taint (label missing) as a runner node too", () => {
    const r = checkPlacement(
      [node("odd", {}, RUNNER_TAINT)],
      [pod("default", "web", "odd")],
      rule,
      "runner-pool",
    );
    assert.deepEqual(r.runnerNodes, ["odd"]);
    assert.equal(r.offenders.length, 1);
  });
});

describe("gitlab-eks verify (against a fake Kubernetes API)", function () {
  let kube: FakeKube;
  let tmp: string;
  let kubeconfig: string;

  before(async () => {
    kube = await startFakeKube({
      token: TOKEN,
      nodes: NODES,
      pods: DEV_PODS,
      configMaps: structuredClone(STATUS),
      pageSize: 3,
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-verify-"));
    kubeconfig = path.join(tmp, "kubeconfig.json");
    fs.writeFileSync(kubeconfig, kubeconfigFor(kube.url, { token: TOKEN }));
  });
  after(async () => {
    await kube.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    kube.pods = DEV_PODS;
    Object.assign(kube.configMaps, structuredClone(STATUS));
    kube.requests.length = 0;
  });

  it("prints ok for a clean cluster, over TLS with the kubeconfig's CA, reading every page", async () => {
    const r = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", kubeconfig]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      "ok: 3 nodes (1 runner nodes: run-1), 5 pods checked (1 runner manager, 1 job)\n" +
        "ok: autoscaler pod kube-system/cluster-autoscaler-7c9d runs on system node sys-1; " +
        `sees the runner pool's node group ${DEV_RUNNER_ASG}; 1 runner node up now\n`,
    );
    const podPages = kube.requests.filter((q) => q.path.startsWith("/api/v1/pods"));
    assert.equal(podPages.length, 3, "8 pods in pages of 3");
    assert.ok(podPages.slice(1).every((q) => q.path.includes("continue=")));
    assert.ok(kube.requests.every((q) => q.authorization === `Bearer ${TOKEN}`));
  });

  it("fails with exit 1, naming every offender", async () => {
    kube.pods = [...DEV_PODS, ...OFFENDING_PODS];
    const r = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", kubeconfig]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^pod default\/web-1: not a runner pod, but runs on runner node run-1 \(workload=gitlab-runner\)/,
    );
    assert.match(
      lines[1],
      /^pod gitlab-runner\/runner-abc-project-2-concurrent-0-x: a runner job pod on node sys-1/,
    );
    assert.match(lines[2], /^gitlab-eks verify: 2 pods break the runner isolation/);
  });

  it("gets a token from the kubeconfig's exec credential plugin (as `aws eks get-token` gives it)", async () => {
    const log = path.join(tmp, "exec.log");
    const plugin = path.join(tmp, "aws");
    fs.writeFileSync(
      plugin,
      `#!${process.execPath}\n` +
        `require("fs").writeFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)));\n` +
        `console.log(JSON.stringify({kind:"ExecCredential",apiVersion:"client.authentication.k8s.io/v1beta1",status:{token:${JSON.stringify(TOKEN)}}}));\n`,
      { mode: 0o755 },
    );
    const file = path.join(tmp, "exec-kubeconfig.json");
    fs.writeFileSync(
      file,
      kubeconfigFor(kube.url, {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: plugin,
          args: ["eks", "get-token", "--cluster-name", "gitlab-eks-dev"],
        },
      }),
    );
    const r = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(fs.readFileSync(log, "utf8")), [
      "eks",
      "get-token",
      "--cluster-name",
      "gitlab-eks-dev",
    ]);
  });

  it("reads the kubeconfig from the stack's outputs with the Pulumi CLI (a stand-in here)", async () => {
    const bin = fs.mkdtempSync(path.join(tmp, "bin-"));
    const log = path.join(tmp, "pulumi.log");
    fs.writeFileSync(
      path.join(bin, "pulumi"),
      `#!${process.execPath}\n` +
        `// A stand-in for the Pulumi CLI in gitlab-eks tests: records its arguments, prints a kubeconfig.\n` +
        `process.stderr.write("stand-in pulumi (gitlab-eks tests), not the real Pulumi CLI\\n");\n` +
        `require("fs").writeFileSync(${JSON.stringify(log)}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }));\n` +
        `process.stdout.write(require("fs").readFileSync(${JSON.stringify(kubeconfig)}, "utf8") + "\\n");\n`,
      { mode: 0o755 },
    );
    const r = await cliAsync(["verify", "--stack", "dev"], { PATH: bin });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ok: /);
    const called = JSON.parse(fs.readFileSync(log, "utf8")) as { args: string[]; cwd: string };
    assert.deepEqual(called.args, ["stack", "output", "kubeconfig", "--show-secrets", "--stack", "dev"]);
    assert.equal(fs.realpathSync(called.cwd), fs.realpathSync(ROOT));
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN), "the kubeconfig's secret is never printed");
  });

  it("explains a missing Pulumi CLI, a refused token and an unreachable API (exit 3)", async () => {
    const empty = fs.mkdtempSync(path.join(tmp, "nobin-"));
    const noPulumi = await cliAsync(["verify", "--stack", "dev"], { PATH: empty });
    assert.equal(noPulumi.code, 3);
    assert.match(
      noPulumi.stderr,
      /cannot run the Pulumi CLI .*ENOENT.*Fix: install pulumi, or pass --kubeconfig FILE/,
    );

    const bad = path.join(tmp, "bad-token.json");
    fs.writeFileSync(bad, kubeconfigFor(kube.url, { token: "wrong" }));
    const refused = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", bad]);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /401 Unauthorized \(the credentials were refused/);
    assert.doesNotMatch(refused.stderr, /wrong/);

    const closed = path.join(tmp, "closed.json");
    fs.writeFileSync(closed, kubeconfigFor("https://127.0.0.1:1", { token: TOKEN }));
    const unreachable = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", closed]);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /cannot reach the Kubernetes API at https:\/\/127.0.0.1:1/);

    const missing = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", path.join(tmp, "nope")]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /cannot read --kubeconfig .*ENOENT/);
  });

  it("uses --context over the kubeconfig's current-context", async () => {
    const cfg = JSON.parse(kubeconfigFor(kube.url, { token: TOKEN }));
    cfg.clusters.push({ name: "elsewhere", cluster: { server: "https://127.0.0.1:1" } });
    cfg.contexts.push({ name: "other", context: { cluster: "elsewhere", user: "fake" } });
    cfg["current-context"] = "other";
    const file = path.join(tmp, "two-contexts.json");
    fs.writeFileSync(file, JSON.stringify(cfg));
    const current = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", file]);
    assert.equal(current.code, 3);
    const chosen = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", file, "--context", "fake"]);
    assert.equal(chosen.code, 0, chosen.stderr);
    const missing = await cliAsync(["verify", "--stack", "dev", "--kubeconfig", file, "--context", "nope"]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /the kubeconfig has no context named "nope"/);
  });

  it("refuses an invalid configuration before contacting the cluster", async () => {
    kube.requests.length = 0;
    const dir = fs.mkdtempSync(path.join(tmp, "proj-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.broken.yaml"),
      "config:\n  aws:region: eu-west-1\n  gitlab-eks:cluster:\n    vpcCidr: 10.0.0.0/16\n  gitlab-eks:gitlab:\n    agentProject: p/c\n  gitlab-eks:runner:\n    tags: [a]\n",
    );
    const r = await cliAsync(["verify", "--stack", "broken", "--kubeconfig", kubeconfig], {}, dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^gitlab-eks:runner.runnerType: /m);
    assert.equal(kube.requests.length, 0);
  });

  it("uses the stack's own isolation label", async () => {
    const config = configOf(
      minimal({ "gitlab-eks:isolation": { labelKey: "example.com/pool", labelValue: "ci" } }),
    );
    const rule = isolationRule(config.isolation);
    const r = checkPlacement(NODES, [pod("default", "web", "run-1")], rule, "runner-pool");
    assert.deepEqual(r.runnerNodes, [], "workload=gitlab-runner is not this stack's runner label");
  });
});
