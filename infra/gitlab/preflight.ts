/**
 * What must hold on the GitLab side before the agent can be registered and installed: the token is
 * there, valid and has the api scope; its user is Maintainer on the agent's project; KAS is enabled and
 * has an address; a pinned agent version fits GitLab's. Run by the Pulumi program before it creates
 * anything (preview fails on any failed check), and printed check by check by `gitlab-eks doctor`.
 */
import type { AgentConfig } from "../config/agent";
import { defaultImageTag, versionSkewProblem } from "../model/agent";
import { branchHead } from "./branches";
import { gitlabClient, type GitlabApi } from "./client";
import { GitlabConnection, GitlabTokenError, readToken } from "./connection";
import { GitlabApiError, gaveUpText } from "./errors";
import { defaultBranch } from "./files";
import {
  ACCESS_LEVEL_NAMES,
  instanceMetadata,
  InstanceMetadata,
  namespaceId,
  projectAccess,
  tokenSelf,
  type TokenSelf,
} from "./instance";
import type { RequestEvent, RetryPolicy, Sleep } from "./requester";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface AgentFacts {
  gitlabVersion: string;
  kasAddress?: string;
  imageTag: string;
  /** Numeric ids of ciAccess entries with access_as ci_job (impersonation groups need them). */
  ids: Record<string, number>;
}

export interface PreflightOptions {
  env?: Record<string, string | undefined>;
  retry?: RetryPolicy;
  sleep?: Sleep;
  onRequest?: (e: RequestEvent) => void;
}

const MAINTAINER = 40;

type Add = (name: string, ok: boolean, detail: string) => boolean;

/**
 * The opening checks of every preflight: the token is set (a CI job token alone is refused with the
 * reason), GitLab answers, and the token is valid. Returns the client and the token's description, or
 * undefined when a check failed (it has been added).
 */
export async function openWithToken(
  conn: GitlabConnection,
  env: Record<string, string | undefined>,
  purpose: string,
  add: Add,
  options: Omit<PreflightOptions, "env"> & { scope?: string } = {},
): Promise<{ api: GitlabApi; self: TokenSelf } | undefined> {
  try {
    readToken(conn, env, purpose);
    add("token", true, `${conn.tokenVariable} is set`);
  } catch (e) {
    add("token", false, (e as GitlabTokenError).message);
    return undefined;
  }
  const api = gitlabClient(conn, {
    env,
    purpose,
    retry: options.retry,
    sleep: options.sleep,
    onRequest: options.onRequest,
  });
  try {
    const self = await tokenSelf(api, options.scope);
    add("reachable", true, `${conn.url} answers`);
    const expiry = self.expiresAt ? `, expires ${self.expiresAt}` : "";
    const ok = add(
      "token valid",
      self.active,
      self.active
        ? `token "${self.name}"${expiry}`
        : `token "${self.name}" is inactive (revoked or expired); create a new one and set ${conn.tokenVariable} to it`,
    );
    return ok ? { api, self } : undefined;
  } catch (e) {
    const err = e as GitlabApiError;
    if (err.gaveUp) add("reachable", false, gaveUpText(err.gaveUp));
    else if (err.status === undefined) add("reachable", false, `no answer from ${conn.url}: ${err.message}`);
    else {
      add("reachable", true, `${conn.url} answers`);
      add("token valid", false, err.message);
    }
    return undefined;
  }
}

/** Adds whether the token's user is at least Maintainer on `project`; `why` says what needs it. */
export async function checkProjectRole(
  api: GitlabApi,
  project: string,
  name: string,
  why: string,
  add: Add,
): Promise<boolean> {
  const access = await projectAccess(api, project);
  const role = ACCESS_LEVEL_NAMES[access.accessLevel] ?? `level ${access.accessLevel}`;
  return add(
    name,
    access.accessLevel >= MAINTAINER,
    access.accessLevel >= MAINTAINER
      ? `${role} on ${project}`
      : `${role} on ${project}; ${why}. Raise the token user's role or use another token`,
  );
}

/**
 * With `installMethod: flux`, the branch Flux follows must exist in the agent project: the manifests are
 * committed to it and the GitRepository fetches it, so a missing branch would fail the commit halfway
 * through `pulumi up` (or leave Flux fetching nothing). GET /projects/:id/repository/branches/:branch,
 * 404 = missing.
 */
async function checkFluxBranch(api: GitlabApi, agent: AgentConfig, add: Add): Promise<void> {
  const key = `${agent.configKey}.flux.branch`;
  const { branch } = agent.flux;
  try {
    if ((await branchHead(api, { project: agent.project, branch })) !== undefined) {
      add("flux branch", true, `${branch} exists in ${agent.project}`);
      return;
    }
    const fallback = await defaultBranch(api, agent.project).catch(() => undefined);
    add(
      "flux branch",
      false,
      `${key}: branch "${branch}" does not exist in ${agent.project}; Flux follows it and the stack commits the agent's manifests to it. ` +
        `Fix: create the branch in ${agent.project}, or pulumi config set --path '${key}' ${fallback ?? "<an existing branch>"}` +
        (fallback ? ` (the project's default branch)` : ""),
    );
  } catch (e) {
    add("flux branch", false, (e as Error).message);
  }
}

/** How a stack goes without agents: the shorthand's switch, or no list at all. */
function noAgents(agent: AgentConfig): string {
  return agent.configKey.endsWith(":agent")
    ? `set ${agent.configKey}.enabled to false`
    : "remove gitlab-eks:agents (pulumi config rm gitlab-eks:agents) and set gitlab-eks:agent.enabled to false";
}

export async function agentPreflight(
  conn: GitlabConnection,
  agent: AgentConfig,
  options: PreflightOptions = {},
): Promise<{ checks: Check[]; facts?: AgentFacts }> {
  const env = options.env ?? process.env;
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => (checks.push({ name, ok, detail }), ok);

  const opened = await openWithToken(conn, env, "Registering the GitLab agent", add, {
    ...options,
    scope: "api",
  });
  if (!opened) return { checks };
  const { api, self } = opened;
  add(
    "token scopes",
    self.scopes.includes("api"),
    self.scopes.includes("api")
      ? `scopes: ${self.scopes.join(", ")}`
      : `scopes: ${self.scopes.join(", ") || "none"}; the agent APIs need the api scope. Create a token with the api scope and set ${conn.tokenVariable} to it`,
  );

  try {
    await checkProjectRole(
      api,
      agent.project,
      "role on agent project",
      "registering agents and creating their tokens needs Maintainer",
      add,
    );
  } catch (e) {
    add("role on agent project", false, (e as Error).message);
  }

  if (agent.installMethod === "flux") await checkFluxBranch(api, agent, add);

  let metadata: InstanceMetadata | undefined;
  try {
    metadata = await instanceMetadata(api);
  } catch (e) {
    add("KAS", false, (e as Error).message);
  }
  let kasAddress: string | undefined;
  let imageTag: string | undefined;
  if (metadata) {
    kasAddress = agent.kasAddress ?? metadata.kas.externalUrl ?? undefined;
    if (!metadata.kas.enabled)
      add(
        "KAS",
        false,
        `KAS (the GitLab agent server) is disabled on ${conn.url}; enable it (Linux package: gitlab_kas['enable'] = true; Helm chart: global.kas.enabled) or ${noAgents(agent)}`,
      );
    else if (!kasAddress && !agent.receptive)
      add(
        "KAS",
        false,
        `KAS is enabled, but GitLab reports no external URL for it; set ${agent.configKey}.kasAddress (e.g. wss://kas.gitlab.example.com)`,
      );
    else
      add(
        "KAS",
        true,
        agent.receptive
          ? `enabled; receptive mode, GitLab connects to ${agent.receptive.url ?? "the address of the load balancer the stack creates"}`
          : `enabled at ${kasAddress}${agent.kasAddress ? " (configured)" : " (from /metadata)"}`,
      );

    if (agent.receptive) {
      const saas = /^https:\/\/(www\.)?gitlab\.com$/.test(conn.url);
      add(
        "receptive mode",
        !saas && metadata.enterprise !== false,
        saas
          ? `receptive agents exist only on self-managed GitLab (Ultimate), not on ${conn.url}; remove ${agent.configKey}.receptive (and ${agent.configKey}.receptiveUrl)`
          : metadata.enterprise === false
            ? `receptive agents need GitLab Ultimate (Enterprise Edition); ${conn.url} runs the Community Edition. Remove ${agent.configKey}.receptive (and ${agent.configKey}.receptiveUrl)`
            : `self-managed Enterprise Edition (the URL configuration still needs Ultimate and receptive agents enabled)`,
      );
    }

    if (agent.imageTag) {
      const skew = versionSkewProblem(metadata.version, agent.imageTag);
      if (
        add(
          "agent version",
          !skew,
          skew ? `${agent.configKey}.imageTag: ${skew}` : `${agent.imageTag} fits GitLab ${metadata.version}`,
        )
      )
        imageTag = agent.imageTag;
    } else {
      imageTag = defaultImageTag(metadata.kas.version, metadata.version);
      add(
        "agent version",
        imageTag !== undefined,
        imageTag
          ? metadata.kas.version
            ? `${imageTag} (the version of KAS)`
            : `${imageTag} (from GitLab's version; KAS did not report its own)`
          : `cannot tell GitLab's version ("${metadata.version}"); pin ${agent.configKey}.imageTag`,
      );
    }
  }

  const ids: Record<string, number> = {};
  const impersonated = [
    ...agent.ciAccess.projects
      .filter((e) => e.accessAs === "ci_job")
      .map((e) => ({ kind: "project" as const, id: e.id })),
    ...agent.ciAccess.groups
      .filter((e) => e.accessAs === "ci_job")
      .map((e) => ({ kind: "group" as const, id: e.id })),
  ];
  for (const { kind, id } of impersonated) {
    try {
      ids[id] = /^\d+$/.test(id) ? Number(id) : await namespaceId(api, kind, id);
    } catch (e) {
      add(`ciAccess ${kind} ${id}`, false, (e as Error).message);
    }
  }

  const ok = checks.every((c) => c.ok);
  return ok && metadata && imageTag
    ? { checks, facts: { gitlabVersion: metadata.version, kasAddress, imageTag, ids } }
    : { checks };
}
