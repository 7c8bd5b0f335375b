/**
 * A small read-only Kubernetes API client on node:https: GET a list, following `continue` tokens.
 * (Two list calls do not justify @kubernetes/client-node and its dependency tree in a CLI that must start fast.)
 */
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConnection } from "./kubeconfig";

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.message = message;
    this.name = "KubeApiError";
  }
}

function get(conn: KubeConnection, path: string, timeoutMs: number): Promise<unknown> {
  const url = new URL(conn.server + path);
  const isHttps = url.protocol === "https:";
  const options: https.RequestOptions = {
    method: "GET",
    headers: { Accept: "application/json", ...(conn.token ? { Authorization: `Bearer ${conn.token}` } : {}) },
    timeout: timeoutMs,
    ...(isHttps
      ? { ca: conn.ca, cert: conn.cert, key: conn.key, rejectUnauthorized: !conn.insecureSkipTlsVerify }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 200) {
          try {
            resolve(JSON.parse(body));
          } catch {
            reject(new KubeApiError(`GET ${url.pathname}: the API answered something that is not JSON`));
          }
          return;
        }
        let said = body.slice(0, 200);
        try {
          said = String((JSON.parse(body) as { message?: unknown }).message ?? said);
        } catch {
          // not a Status object
        }
        const hint =
          res.statusCode === 401
            ? " (the credentials were refused: expired token, or this identity has no access entry on the cluster)"
            : res.statusCode === 403
              ? " (this identity may not read it: verify needs list on nodes and pods cluster-wide, and get on the autoscaler's status ConfigMap in kube-system)"
              : "";
        reject(new KubeApiError(`GET ${url.pathname}: ${res.statusCode} ${said}${hint}`, res.statusCode));
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", (e) =>
      reject(
        e instanceof KubeApiError
          ? e
          : new KubeApiError(`cannot reach the Kubernetes API at ${conn.server}: ${e.message}`),
      ),
    );
    req.end();
  });
}

/** One object (e.g. a ConfigMap), or undefined when the API says it does not exist (404). */
export async function getObject<T>(
  conn: KubeConnection,
  path: string,
  timeoutMs = 30_000,
): Promise<T | undefined> {
  try {
    return (await get(conn, path, timeoutMs)) as T;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** Every item of a list (e.g. `/api/v1/pods`), page by page. */
export async function listAll<T>(conn: KubeConnection, path: string, timeoutMs = 30_000): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ limit: "500", ...(token ? { continue: token } : {}) });
    const page = (await get(conn, `${path}?${query}`, timeoutMs)) as {
      items?: T[];
      metadata?: { continue?: string };
    };
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}
