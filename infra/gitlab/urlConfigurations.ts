/**
 * A receptive agent's URL configuration (`/projects/:id/cluster_agents/:agent_id/url_configurations`,
 * GitLab Ultimate self-managed 17.4+): where GitLab connects to the agent. GitLab allows one per agent.
 */
import type { GitlabApi } from "./client";
import { call, callOrAbsent, createOnce, describeGitlabError, GitlabApiError, statusOf } from "./errors";
import { agentContext } from "./agentTokens";

export interface UrlConfiguration {
  id: number;
  url: string;
  publicKey?: string;
  /** PEM, as GitLab keeps it (the API carries it Base64-encoded). */
  caCert?: string;
  tlsHost?: string;
}

/** The TLS settings of a URL configuration: how GitLab verifies the agent's grpcs:// endpoint. */
export interface UrlTls {
  /** PEM CA certificate (`ca_cert`; sent Base64-encoded, which GitLab's API decodes). */
  caCert?: string;
  /** Host name the certificate is verified for (`tls_host`). */
  tlsHost?: string;
}

type Raw = Record<string, unknown>;

const receptiveHint = (key: string) =>
  "Receptive agents need GitLab Ultimate on a self-managed instance (17.4+) with receptive agents enabled " +
  `(GitLab answers 404 otherwise). Remove ${key}.receptive.url (or ${key}.receptiveUrl) and ` +
  `${key}.receptive.expose to use the usual outbound connection.`;

const toConfig = (r: Raw): UrlConfiguration => ({
  id: Number(r.id),
  url: String(r.url),
  publicKey: r.public_key as string | undefined,
  caCert: r.ca_cert ? Buffer.from(String(r.ca_cert), "base64").toString("utf8") : undefined,
  tlsHost: (r.tls_host as string | null) || undefined,
});

const pem = (s: string | undefined) => (s ? s.replace(/\r\n/g, "\n").trim() : "");
/** Whether GitLab's configuration is the one wanted: same URL and the same TLS settings. */
const matches = (c: UrlConfiguration, url: string, tls: UrlTls) =>
  c.url === url && pem(c.caCert) === pem(tls.caCert) && (c.tlsHost ?? "") === (tls.tlsHost ?? "");

/**
 * The agent's receptive URL configuration (JWT mode). One with this URL already there is used and
 * reported `created: false` (an adopted agent's is released, not deleted, on destroy). One with another
 * URL is replaced only on an agent this stack registered (`agentOwned`); on an adopted agent it is refused.
 * A create whose answer was lost is found by its URL in the same run.
 */
export async function ensureUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  url: string,
  options: {
    agentOwned?: boolean;
    tls?: UrlTls;
    /** Where the agent's settings are (`gitlab-eks:agent` or `gitlab-eks:agents[<i>]`); errors name it. */
    configKey?: string;
  } = {},
): Promise<{ config: UrlConfiguration; created: boolean }> {
  const tls = options.tls ?? {};
  const key = options.configKey ?? "gitlab-eks:agent";
  const base = `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations`;
  const c = {
    ...agentContext(project, `configure receptive agent ${agentId} at ${url}`),
    target: `receptive agents on this instance`,
  };
  const list = async (): Promise<Raw[]> => {
    try {
      return (await api.Agents.requester.get<Raw[]>(base)).body as Raw[];
    } catch (e) {
      if (statusOf(e) === 404)
        throw new Error(`Cannot configure receptive agent ${agentId}: ${receptiveHint(key)}`);
      throw describeGitlabError(e, c);
    }
  };
  const existing = await list();
  const same = existing.find((r) => matches(toConfig(r), url, tls));
  if (same) return { config: toConfig(same), created: false };
  if (existing.length && options.agentOwned === false)
    throw new GitlabApiError(
      `Cannot configure receptive agent ${agentId} at ${url}: the adopted agent already has a URL ` +
        `configuration for ${existing.map((r) => String(r.url)).join(", ")} (or with other TLS settings), and GitLab allows one. ` +
        `This stack does not delete what it adopted: delete it in GitLab, or set ${key}.receptive.url, ` +
        `${key}.receptive.caCert and ${key}.receptive.tlsHost to match it.`,
    );
  for (const old of existing) await deleteUrlConfiguration(api, project, agentId, Number(old.id));
  const { value } = await createOnce(
    async () =>
      toConfig(
        (await call(c, () => api.Agents.requester.post<Raw>(base, { body: urlBody(url, tls) }))).body as Raw,
      ),
    async () => {
      const found = (await list()).find((r) => matches(toConfig(r), url, tls));
      return found && toConfig(found);
    },
  );
  return { config: value, created: true };
}

/** POST body: GitLab's API Base64-decodes `ca_cert` (lib/api/clusters/agent_url_configurations.rb). */
function urlBody(url: string, tls: UrlTls): Record<string, string> {
  return {
    url,
    ...(tls.caCert ? { ca_cert: Buffer.from(tls.caCert, "utf8").toString("base64") } : {}),
    ...(tls.tlsHost ? { tls_host: tls.tlsHost } : {}),
  };
}

export async function deleteUrlConfiguration(
  api: GitlabApi,
  project: string,
  agentId: number,
  id: number,
): Promise<void> {
  await callOrAbsent(
    agentContext(project, `delete the receptive URL configuration of agent ${agentId}`),
    () =>
      api.Agents.requester.delete(
        `projects/${encodeURIComponent(project)}/cluster_agents/${agentId}/url_configurations/${id}`,
      ),
  );
}
