/**
 * The GitLab agent for Kubernetes as plain data: its config file in GitLab, its Helm values, the RBAC it
 * gets in the cluster, and the version rules. Used by the Pulumi layer, `render` and `doctor`.
 */
import type { AccessEntry, AgentConfig } from "../config/agent";
import type { StackConfig } from "../config/types";
import { isolationRule } from "./isolation";
import { RECEPTIVE_API_PORT } from "../config/agentModes";

/**
 * The chart's RBAC and service account values per `agent.rbac` mode. least-privilege and cluster-admin:
 * the chart's RBAC (which binds cluster-admin) is off and ours (agentRbac) applies, to the service account
 * the chart creates. existing-service-account: no service account and no RBAC from the chart; agentk runs
 * as yours with the permissions you gave it. existing-role: the chart binds its service account to your
 * ClusterRole (`rbac.useExistingRole`).
 */
export function chartRbacValues(agent: AgentConfig): Record<string, unknown> {
  if (agent.rbac === "existing-service-account")
    return { rbac: { create: false }, serviceAccount: { create: false, name: agent.existingServiceAccount } };
  if (agent.rbac === "existing-role")
    return {
      rbac: { create: true, useExistingRole: agent.existingRole },
      serviceAccount: { create: true, name: agent.releaseName },
    };
  return { rbac: { create: false }, serviceAccount: { create: true, name: agent.releaseName } };
}

export const AGENT_CHART_REPO = "https://charts.gitlab.io";
export const AGENT_CHART = "gitlab-agent";
/** Prefix of the agent tokens this project creates; anything else on the agent is foreign. */
export const MANAGED_TOKEN_PREFIX = "gitlab-eks-";

export const agentConfigPath = (agent: AgentConfig) => `.gitlab/agents/${agent.name}/config.yaml`;
export const agentTokenName = (stack: string, agent: AgentConfig) =>
  `${MANAGED_TOKEN_PREFIX}${stack}-${agent.tokenRotation}`.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 255);

type AccessAs = { agent: Record<string, never> } | { ci_job: Record<string, never> };
const accessAs = (e: AccessEntry): AccessAs => (e.accessAs === "ci_job" ? { ci_job: {} } : { agent: {} });

function accessEntry(e: AccessEntry) {
  return {
    id: e.id,
    ...(e.defaultNamespace ? { default_namespace: e.defaultNamespace } : {}),
    access_as: accessAs(e),
    ...(e.environments?.length ? { environments: e.environments } : {}),
  };
}

/** `.gitlab/agents/<name>/config.yaml`, as an object (the YAML is written by the caller). */
export function agentConfigFile(agent: AgentConfig): Record<string, unknown> {
  const file: Record<string, unknown> = {};
  const { projects, groups } = agent.ciAccess;
  if (projects.length || groups.length) {
    file.ci_access = {
      ...(projects.length ? { projects: projects.map(accessEntry) } : {}),
      ...(groups.length ? { groups: groups.map(accessEntry) } : {}),
    };
  }
  if (agent.userAccess) {
    file.user_access = {
      access_as: agent.userAccess.accessAs === "user" ? { user: {} } : { agent: {} },
      ...(agent.userAccess.projects.length
        ? { projects: agent.userAccess.projects.map((id) => ({ id })) }
        : {}),
      ...(agent.userAccess.groups.length ? { groups: agent.userAccess.groups.map((id) => ({ id })) } : {}),
    };
  }
  return file;
}

/** Facts known only at deploy time (from GitLab); `render` shows placeholders instead. */
export interface AgentFacts {
  kasAddress?: string;
  imageTag: string;
  tokenId: string;
  jwtPublicKey?: string;
}

export function agentHelmValues(
  config: StackConfig,
  agent: AgentConfig,
  facts: AgentFacts,
): Record<string, unknown> {
  const rule = isolationRule(config.isolation);
  const proxyEnv = [
    ["HTTP_PROXY", agent.proxy.httpProxy],
    ["HTTPS_PROXY", agent.proxy.httpsProxy],
    ["NO_PROXY", agent.proxy.noProxy],
  ].filter(([, value]) => value !== undefined) as [string, string][];
  return {
    replicas: agent.replicas,
    image: { tag: facts.imageTag },
    config: {
      // The token is in our own Secret (key `token`); it is never a Helm value.
      secretName: agent.tokenSecretName,
      ...(agent.receptive
        ? {
            receptive: { enabled: true },
            api: { jwtPublicKey: facts.jwtPublicKey, listenAddress: `:${RECEPTIVE_API_PORT}` },
          }
        : { kasAddress: facts.kasAddress }),
      ...(agent.kasCaCert ? { kasCaCert: agent.kasCaCert } : {}),
      // The chart turns this on by default, and its templates then bind a ClusterRole reading secrets,
      // nodes and workloads cluster-wide, whatever rbac.create says: only when the stack asks for it.
      operational_container_scanning: { enabled: agent.containerScanning },
    },
    ...chartRbacValues(agent),
    ...(agent.receptive ? { service: { internalPort: RECEPTIVE_API_PORT } } : {}),
    ...(proxyEnv.length
      ? {
          extraEnv: proxyEnv.flatMap(([name, value]) => [
            { name, value },
            { name: name.toLowerCase(), value },
          ]),
        }
      : {}),
    resources: agent.resources,
    // agentk runs on the system pool: it does not tolerate the runner taint, and this makes it explicit.
    affinity: rule.avoidAffinity,
    // A new token id rolls the pods, so a rotated token is picked up before the old one is revoked.
    podAnnotations: { "gitlab-eks/agent-token-id": facts.tokenId },
  };
}

export interface RbacObject {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding";
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { apiGroup: "rbac.authorization.k8s.io"; kind: "ClusterRole" | "Role"; name: string };
  subjects?: { kind: "ServiceAccount" | "Group"; name: string; namespace?: string; apiGroup?: string }[];
}

/**
 * Least privilege by default: agentk may manage its own leases and events; CI jobs acting as the agent
 * get the built-in `edit` role in each `defaultNamespace` of `ciAccess` (a RoleBinding, not cluster-wide);
 * jobs impersonated as `ci_job` are bound by GitLab's impersonation group for that project/group, whose
 * numeric id comes from GitLab (`ids`). The dashboard (`userAccess`) may read the environment's namespace.
 * `rbac: cluster-admin` binds cluster-admin instead (refused for production by validation).
 */
export function agentRbac(agent: AgentConfig, ids: Record<string, number | string> = {}): RbacObject[] {
  // An existing service account or role: its permissions are the user's, the stack adds none.
  if (agent.rbac === "existing-service-account" || agent.rbac === "existing-role") return [];
  const sa = { kind: "ServiceAccount" as const, name: agent.releaseName, namespace: agent.namespace };
  const labels = { "app.kubernetes.io/managed-by": "gitlab-eks", "gitlab-eks/agent": agent.name };
  const name = `gitlab-agent-${agent.name}`;
  if (agent.rbac === "cluster-admin") {
    return [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${name}-cluster-admin`, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [sa],
      },
    ];
  }
  const objects: RbacObject[] = [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace: agent.namespace, labels },
      rules: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
        // Container scanning: agentk starts the scanner pods in its own namespace (they run as the
        // chart's scanner service account) and reads and removes the results they leave in ConfigMaps.
        ...(agent.containerScanning
          ? [
              { apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "watch", "delete"] },
              { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "delete"] },
            ]
          : []),
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: agent.namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [sa],
    },
  ];
  const entries = [
    ...agent.ciAccess.projects.map((e) => ({ e, kind: "project" as const })),
    ...agent.ciAccess.groups.map((e) => ({ e, kind: "group" as const })),
  ];
  const impersonates =
    entries.some(({ e }) => e.accessAs === "ci_job") || agent.userAccess?.accessAs === "user";
  if (impersonates) {
    objects.push(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: `${name}-impersonate`, labels },
        rules: [{ apiGroups: [""], resources: ["users", "groups", "userextras/*"], verbs: ["impersonate"] }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${name}-impersonate`, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${name}-impersonate` },
        subjects: [sa],
      },
    );
  }
  entries.forEach(({ e, kind }, i) => {
    if (!e.defaultNamespace) return;
    const subject =
      e.accessAs === "ci_job"
        ? {
            kind: "Group" as const,
            name: `gitlab:${kind}:${ids[e.id] ?? `<id of ${e.id}>`}`,
            apiGroup: "rbac.authorization.k8s.io",
          }
        : sa;
    objects.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: {
        name: `${name}-ci-${i}`,
        namespace: e.defaultNamespace,
        labels: { ...labels, "gitlab-eks/ci-access": kind },
      },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [subject],
    });
  });
  if (agent.userAccess?.accessAs === "agent") {
    objects.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${name}-dashboard`, namespace: agent.environment.kubernetesNamespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [sa],
    });
  }
  return objects;
}

/** Namespaces the agent's RBAC lives in, besides its own (they must exist before the bindings). */
export function agentAccessNamespaces(agent: AgentConfig): string[] {
  if (agent.rbac !== "least-privilege") return [];
  const fromCi = [...agent.ciAccess.projects, ...agent.ciAccess.groups].map((e) => e.defaultNamespace);
  const fromDashboard = agent.userAccess?.accessAs === "agent" ? [agent.environment.kubernetesNamespace] : [];
  return [
    ...new Set([...fromCi, ...fromDashboard].filter((n): n is string => !!n && n !== agent.namespace)),
  ].sort();
}

// ---- versions --------------------------------------------------------------------------------------

export interface MinorVersion {
  major: number;
  minor: number;
}

export function parseVersion(v: string | null | undefined): (MinorVersion & { patch: number }) | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v ?? "");
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) } : undefined;
}

/**
 * The last minor of each finished GitLab major, from GitLab's release history (12.10 was followed by
 * 13.0, 13.12 by 14.0, 14.10 by 15.0, 15.11 by 16.0, 16.11 by 17.0, 17.11 by 18.0). A finished major never
 * gains a minor, so an entry is never wrong later; a major not listed yet (the current one, and every
 * later one) falls back to the rule below instead of a guess.
 */
const LAST_MINORS: Record<number, number> = { 12: 10, 13: 12, 14: 10, 15: 11, 16: 11, 17: 11 };
/**
 * Every major since GitLab 11 ended at .10 or later. For a major not in LAST_MINORS, any minor from
 * here on may be its last, so X.0 is taken as next to it: a skew check must never refuse a supported
 * pair, and at worst this accepts a pair one or two releases further apart at an unlisted boundary.
 */
const EARLIEST_LAST_MINOR = 10;

const tag = (v: MinorVersion) => `v${v.major}.${v.minor}.x`;

/** Whether release `b` comes right after release `a`, across a major boundary too. */
function follows(a: MinorVersion, b: MinorVersion): boolean {
  const last = LAST_MINORS[a.major];
  if (b.major === a.major) return b.minor === a.minor + 1 && (last === undefined || b.minor <= last);
  if (b.major !== a.major + 1 || b.minor !== 0) return false;
  return last !== undefined ? a.minor === last : a.minor >= EARLIEST_LAST_MINOR;
}

/** The agent versions that fit GitLab `v`, as text: the one before, the same, the one (or two) after. */
function fitting(v: MinorVersion): string[] {
  const before =
    v.minor > 0
      ? [tag({ major: v.major, minor: v.minor - 1 })]
      : LAST_MINORS[v.major - 1] !== undefined
        ? [tag({ major: v.major - 1, minor: LAST_MINORS[v.major - 1] })]
        : [`the last v${v.major - 1} minor (v${v.major - 1}.${EARLIEST_LAST_MINOR}.x or later)`];
  const after = [
    { major: v.major, minor: v.minor + 1 },
    { major: v.major + 1, minor: 0 },
  ].filter((n) => follows(v, n));
  return [...before, tag(v), ...after.map(tag)];
}

/**
 * GitLab's policy: the agent's version should match GitLab's major.minor; the previous and next minor are
 * supported too, across a major boundary as well (GitLab 14.10 with agent 15.0). Returns why a pinned tag
 * does not fit, or undefined when it does.
 */
export function versionSkewProblem(gitlabVersion: string, agentTag: string): string | undefined {
  const gl = parseVersion(gitlabVersion);
  const ag = parseVersion(agentTag);
  if (!gl || !ag) return undefined;
  if ((ag.major === gl.major && ag.minor === gl.minor) || follows(gl, ag) || follows(ag, gl))
    return undefined;
  return (
    `agent ${agentTag} is outside GitLab's supported skew for GitLab ${gitlabVersion}: ` +
    `use ${fitting(gl).join(", ")}`
  );
}

/** The agentk image tag to run: the pinned one, else KAS's version, else GitLab's (without -ee). */
export function defaultImageTag(kasVersion: string | null, gitlabVersion: string): string | undefined {
  const v = parseVersion(kasVersion) ?? parseVersion(gitlabVersion);
  return v && `v${v.major}.${v.minor}.${v.patch}`;
}
