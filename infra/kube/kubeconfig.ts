/**
 * Just enough of a kubeconfig to call the Kubernetes API: the current context's server, CA, and
 * credentials (bearer token, client certificate, or an exec plugin such as `aws eks get-token`, which
 * the kubeconfig of an EKS cluster made by @pulumi/eks uses).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface KubeConnection {
  server: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.message = message;
    this.name = "KubeconfigError";
  }
}

type Rec = Record<string, unknown>;
const rec = (x: unknown): Rec => (x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Rec) : {});
const str = (x: unknown): string | undefined => (typeof x === "string" && x !== "" ? x : undefined);

function named(list: unknown, name: string | undefined, what: string): Rec {
  const items = Array.isArray(list) ? list.map(rec) : [];
  const found = name === undefined ? items[0] : items.find((i) => i.name === name);
  if (!found)
    throw new KubeconfigError(`the kubeconfig has no ${what}${name ? ` named ${JSON.stringify(name)}` : ""}`);
  return found;
}

/** Reads base64 `*-data` or a file path (relative to the kubeconfig's folder). */
function material(section: Rec, key: string, baseDir: string): Buffer | undefined {
  const data = str(section[`${key}-data`]);
  if (data) return Buffer.from(data, "base64");
  const file = str(section[key]);
  return file ? fs.readFileSync(path.resolve(baseDir, file)) : undefined;
}

/** Runs a client-go exec credential plugin and returns its credential. */
function execCredential(
  exec: Rec,
  env: Record<string, string | undefined>,
): { token?: string; cert?: Buffer; key?: Buffer } {
  const command = str(exec.command);
  if (!command) throw new KubeconfigError("the kubeconfig's exec credential has no command");
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const extraEnv = Object.fromEntries(
    (Array.isArray(exec.env) ? exec.env.map(rec) : []).map((e) => [String(e.name), String(e.value ?? "")]),
  );
  const r = spawnSync(command, args, {
    env: {
      ...env,
      ...extraEnv,
      KUBERNETES_EXEC_INFO: JSON.stringify({
        apiVersion: str(exec.apiVersion) ?? "client.authentication.k8s.io/v1beta1",
        kind: "ExecCredential",
        spec: { interactive: false },
      }),
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.error)
    throw new KubeconfigError(
      `the kubeconfig gets credentials by running ${JSON.stringify(command)}, which could not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); ` +
        `install it (for EKS: the AWS CLI) or pass a kubeconfig with a token`,
    );
  if (r.status !== 0)
    throw new KubeconfigError(
      `the credential command ${JSON.stringify([command, ...args].join(" "))} failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" ")}`,
    );
  let status: Rec;
  try {
    status = rec(rec(JSON.parse(r.stdout)).status);
  } catch {
    throw new KubeconfigError(
      `the credential command ${JSON.stringify(command)} did not print an ExecCredential (JSON)`,
    );
  }
  const token = str(status.token);
  const cert = str(status.clientCertificateData);
  const key = str(status.clientKeyData);
  if (!token && !(cert && key))
    throw new KubeconfigError(
      `the credential command ${JSON.stringify(command)} returned neither a token nor a client certificate`,
    );
  return { token, cert: cert ? Buffer.from(cert) : undefined, key: key ? Buffer.from(key) : undefined };
}

/** The connection for the kubeconfig's current context (or its only/first context). */
export function connectionFromKubeconfig(
  text: string,
  options: { baseDir?: string; env?: Record<string, string | undefined>; context?: string } = {},
): KubeConnection {
  let doc: Rec;
  try {
    doc = rec(parse(text));
  } catch (e) {
    throw new KubeconfigError(`the kubeconfig is not YAML or JSON: ${(e as Error).message.split("\n")[0]}`);
  }
  const baseDir = options.baseDir ?? process.cwd();
  const contextName = options.context ?? str(doc["current-context"]);
  const context = rec(named(doc.contexts, contextName, "context").context);
  const cluster = rec(named(doc.clusters, str(context.cluster), "cluster").cluster);
  const user = rec(named(doc.users, str(context.user), "user").user);
  const server = str(cluster.server);
  if (!server) throw new KubeconfigError("the kubeconfig's cluster has no server");

  const conn: KubeConnection = {
    server: server.replace(/\/+$/, ""),
    ca: material(cluster, "certificate-authority", baseDir),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    token:
      str(user.token) ??
      (str(user.tokenFile)
        ? fs.readFileSync(path.resolve(baseDir, String(user.tokenFile)), "utf8").trim()
        : undefined),
    cert: material(user, "client-certificate", baseDir),
    key: material(user, "client-key", baseDir),
  };
  if (!conn.token && !conn.cert && user.exec)
    Object.assign(conn, execCredential(rec(user.exec), options.env ?? process.env));
  return conn;
}
