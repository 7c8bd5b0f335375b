/**
 * A small fake Kubernetes API server on 127.0.0.1 for `gitlab-eks verify`: serves `GET /api/v1/nodes`
 * and `GET /api/v1/pods` as list objects, paginated with `limit`/`continue` like the real API server,
 * `GET /api/v1/namespaces/<ns>/configmaps/<name>` and namespaced custom objects (`GET
 * /apis/<group>/<version>/namespaces/<ns>/<plural>/<name>`, from `objects`; 404 Status when absent), and `PATCH` of a
 * Deployment's scale subresource with a merge patch (what the headroom schedule's CronJob sends), over
 * HTTPS (test/fixtures/fake-kube-tls.*, a self-signed certificate for 127.0.0.1) or plain HTTP, and
 * answers 401 unless the request carries the expected bearer token.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { NodeInfo, PodInfo } from "../../infra/model/placementCheck";
import { cliAsync, type CliResult, projectDir, ROOT } from "./cli";

export const FIXTURES = path.join(ROOT, "test", "fixtures");
export const TLS_CERT = fs.readFileSync(path.join(FIXTURES, "fake-kube-tls.crt"));
const TLS_KEY = fs.readFileSync(path.join(FIXTURES, "fake-kube-tls.key"));

export interface FakeKube {
  url: string;
  nodes: NodeInfo[];
  pods: PodInfo[];
  /** ConfigMaps by `namespace/name`. */
  configMaps: Record<string, { data?: Record<string, string> }>;
  /** Any other object by its API path (e.g. `/apis/helm.toolkit.fluxcd.io/v2/namespaces/x/helmreleases/y`). */
  objects: Record<string, object>;
  /** Deployment replicas by `namespace/name`; a scale PATCH of an unknown Deployment is a 404. */
  deployments: Record<string, number>;
  /** Requests as received: method, path with query, Authorization and Content-Type headers, body. */
  requests: { method?: string; path: string; authorization?: string; contentType?: string; body?: string }[];
  close(): Promise<void>;
}

export async function startFakeKube(options: {
  token: string;
  tls?: boolean;
  nodes?: NodeInfo[];
  pods?: PodInfo[];
  configMaps?: FakeKube["configMaps"];
  deployments?: FakeKube["deployments"];
  /** Largest page served, whatever `limit` asks for (to exercise `continue`). */
  pageSize?: number;
}): Promise<FakeKube> {
  const state = { nodes: options.nodes ?? [], pods: options.pods ?? [] };
  const requests: FakeKube["requests"] = [];
  const configMaps = options.configMaps ?? {};
  const deployments = options.deployments ?? {};
  const objects: Record<string, object> = {};
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => serve(req, res, Buffer.concat(chunks).toString("utf8")));
  };
  const serve = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({
      method: req.method,
      path: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
      contentType: req.headers["content-type"],
      ...(body ? { body } : {}),
    });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${options.token}`)
      return send(401, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: "Unauthorized",
        code: 401,
      });
    const notFound = (what: string) =>
      send(404, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: `${what} not found`,
        reason: "NotFound",
        code: 404,
      });
    const cm = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(url.pathname);
    if (cm && req.method === "GET") {
      const found = configMaps[`${cm[1]}/${cm[2]}`];
      if (!found) return notFound(`configmaps "${cm[2]}"`);
      return send(200, {
        kind: "ConfigMap",
        apiVersion: "v1",
        metadata: { name: cm[2], namespace: cm[1] },
        ...found,
      });
    }
    if (
      req.method === "GET" &&
      /^\/apis\/[^/]+\/[^/]+\/namespaces\/[^/]+\/[^/]+\/[^/]+$/.test(url.pathname)
    ) {
      const found = objects[url.pathname];
      const [, , , , , plural, name] = url.pathname.split("/");
      return found ? send(200, found) : notFound(`${plural} "${name}"`);
    }
    const scale = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)\/scale$/.exec(url.pathname);
    if (scale && req.method === "PATCH") {
      const id = `${scale[1]}/${scale[2]}`;
      if (!(id in deployments)) return notFound(`deployments.apps "${scale[2]}"`);
      if (req.headers["content-type"] !== "application/merge-patch+json")
        return send(415, { kind: "Status", status: "Failure", message: "unsupported media type", code: 415 });
      let replicas: unknown;
      try {
        replicas = (JSON.parse(body) as { spec?: { replicas?: unknown } }).spec?.replicas;
      } catch {
        replicas = undefined;
      }
      if (typeof replicas !== "number")
        return send(400, {
          kind: "Status",
          status: "Failure",
          message: "spec.replicas must be a number",
          code: 400,
        });
      deployments[id] = replicas;
      return send(200, {
        kind: "Scale",
        apiVersion: "autoscaling/v1",
        metadata: { name: scale[2], namespace: scale[1] },
        spec: { replicas },
      });
    }
    const kind =
      url.pathname === "/api/v1/nodes" ? "NodeList" : url.pathname === "/api/v1/pods" ? "PodList" : undefined;
    if (req.method !== "GET" || !kind)
      return send(404, {
        kind: "Status",
        status: "Failure",
        message: "the server could not find the requested resource",
        code: 404,
      });
    const all: unknown[] = kind === "NodeList" ? state.nodes : state.pods;
    const limit = Math.min(
      Number(url.searchParams.get("limit") ?? all.length) || all.length,
      options.pageSize ?? Infinity,
    );
    const start = Number(Buffer.from(url.searchParams.get("continue") ?? "", "base64").toString() || 0);
    const end = start + limit;
    send(200, {
      kind,
      apiVersion: "v1",
      metadata: {
        resourceVersion: "1",
        ...(end < all.length ? { continue: Buffer.from(String(end)).toString("base64") } : {}),
      },
      items: all.slice(start, end),
    });
  };
  const server =
    options.tls === false
      ? http.createServer(handler)
      : https.createServer({ cert: TLS_CERT, key: TLS_KEY }, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === false ? "http" : "https"}://127.0.0.1:${port}`,
    get nodes() {
      return state.nodes;
    },
    set nodes(n) {
      state.nodes = n;
    },
    get pods() {
      return state.pods;
    },
    set pods(p) {
      state.pods = p;
    },
    configMaps,
    objects,
    deployments,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const node = (
  name: string,
  labels: Record<string, string> = {},
  taints: NodeInfo["spec"] = {},
): NodeInfo => ({
  metadata: { name, labels },
  spec: taints,
});

export const pod = (
  namespace: string,
  name: string,
  nodeName: string | undefined,
  extra: Partial<PodInfo["metadata"]> = {},
): PodInfo => ({
  metadata: { namespace, name, ...extra },
  spec: nodeName ? { nodeName } : {},
  status: { phase: nodeName ? "Running" : "Pending" },
});

/** A kubeconfig for the fake, with a token or an exec credential command. */
export function kubeconfigFor(url: string, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "fake",
    clusters: [
      { name: "fake", cluster: { server: url, "certificate-authority-data": TLS_CERT.toString("base64") } },
    ],
    contexts: [{ name: "fake", context: { cluster: "fake", user: "fake" } }],
    users: [{ name: "fake", user }],
  });
}

/**
 * The fixture of a `gitlab-eks verify` suite (mocha hooks): before it, the fake on plain token auth with
 * one system node, and a project folder holding stack `stack` and a kubeconfig for the fake; before each
 * test, no custom object and no request recorded; after it, both gone. `verify()` runs the CLI as a user.
 */
export function verifySuite(
  stack: string,
  text: string,
  token: string,
): { kube: FakeKube; verify(): Promise<CliResult> } {
  const suite = {
    kube: undefined as unknown as FakeKube,
    verify: undefined as unknown as () => Promise<CliResult>,
  };
  let dir = "";
  before(async () => {
    suite.kube = await startFakeKube({ token, nodes: [node("sys-1")] });
    dir = projectDir({ [stack]: text });
    const kubeconfig = path.join(dir, "kubeconfig.json");
    fs.writeFileSync(kubeconfig, kubeconfigFor(suite.kube.url, { token }));
    suite.verify = () => cliAsync(["verify", "--stack", stack, "--kubeconfig", kubeconfig, "--dir", dir]);
  });
  after(async () => {
    await suite.kube.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const k of Object.keys(suite.kube.objects)) delete suite.kube.objects[k];
    suite.kube.requests.length = 0;
  });
  return suite;
}
