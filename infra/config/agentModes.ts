/**
 * Config for the agent's connection and RBAC modes: receptive agents (`gitlab-eks:agent.receptive.*`, and
 * the older `agent.receptiveUrl`) with their TLS settings and the optional load balancer exposing agentk,
 * and the chart's RBAC choices (`agent.rbac`: an existing service account, an existing role).
 */
import * as v from "valibot";
import { cidrBlock, fix, list, oneOf, pattern, section, text } from "./kit";
import { show, type Problem } from "./problems";

export const AGENT_RBAC_MODES = [
  "least-privilege",
  "cluster-admin",
  "existing-service-account",
  "existing-role",
] as const;
export type AgentRbacMode = (typeof AGENT_RBAC_MODES)[number];

/** `none`: GitLab reaches agentk some other way (your ingress, VPN); else a Service of type LoadBalancer. */
export const RECEPTIVE_EXPOSE = ["none", "internal", "internet-facing"] as const;
export type ReceptiveExpose = (typeof RECEPTIVE_EXPOSE)[number];
/**
 * agentk's receptive API listener (chart values `config.api.listenAddress` and `service.internalPort`,
 * whose defaults these are; we set both so the exposing Service's target port never drifts from them).
 */
export const RECEPTIVE_API_PORT = 8082;
/** `loadBalancerSourceRanges` that opens an internet-facing load balancer to every address, said explicitly. */
export const ANY_SOURCE = "0.0.0.0/0";
/** At most this many source ranges: each is a rule in the nodes' security group (60 rules by default). */
export const MAX_SOURCE_RANGES = 20;

const HOST = "[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?";
export const RECEPTIVE_URL = new RegExp(`^grpcs?:\\/\\/${HOST}(:\\d{1,5})?\\/?$`);
const TLS_HOST = new RegExp(`^${HOST}$`);
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;
/** A Kubernetes object name (service account, ClusterRole): an RFC 1123 subdomain, at most 253. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const receptiveUrl = () =>
  pattern(
    "a grpc:// or grpcs:// URL (host and port, no path) at which GitLab reaches the agent",
    RECEPTIVE_URL,
    "grpcs://agent.example.com:443",
  );

export const receptiveUrlSchema = receptiveUrl;

export const receptiveSchema = section({
  url: v.optional(receptiveUrl()),
  caCert: v.optional(
    v.pipe(
      text("a PEM certificate", '"$(cat agent-ca.pem)"', { max: 65536, multiline: true }),
      v.regex(PEM, (i) => `must be a PEM certificate, got ${show(i.input)}. ${fix('"$(cat agent-ca.pem)"')}`),
    ),
  ),
  tlsHost: v.optional(pattern("a host name", TLS_HOST, "agent.example.com", 253)),
  expose: v.optional(oneOf(RECEPTIVE_EXPOSE), "none"),
  sourceRanges: v.optional(
    list(
      cidrBlock("203.0.113.0/24"),
      "CIDR blocks",
      "'[\"203.0.113.0/24\"]'",
      MAX_SOURCE_RANGES,
      "each is a rule in the nodes' security group",
    ),
  ),
});

const objectName = (example: string) => pattern("a Kubernetes object name", OBJECT_NAME, example, 253);
export const existingServiceAccountSchema = objectName("gitlab-agent");
export const existingRoleSchema = objectName("gitlab-agent-deployer");

export interface ReceptiveConfig {
  /** The URL GitLab connects to; absent when `expose` creates a load balancer whose address becomes it. */
  url?: string;
  /** PEM CA certificate GitLab verifies the agent's endpoint with (URL configuration `ca_cert`). */
  caCert?: string;
  /** Host name GitLab verifies the endpoint's certificate for (URL configuration `tls_host`). */
  tlsHost?: string;
  expose: ReceptiveExpose;
  /** The exposing Service's `loadBalancerSourceRanges`: the only clients the load balancer accepts. */
  sourceRanges?: string[];
}

export interface AgentRbac {
  rbac: AgentRbacMode;
  /** rbac existing-service-account: the chart creates no service account and agentk runs as this one. */
  existingServiceAccount?: string;
  /** rbac existing-role: the chart binds agentk's service account to this ClusterRole (`rbac.useExistingRole`). */
  existingRole?: string;
}

interface ModesRaw {
  receptiveUrl?: string;
  receptive?: Partial<v.InferOutput<typeof receptiveSchema>>;
  kasAddress?: string;
  rbac?: AgentRbacMode;
  existingServiceAccount?: string;
  existingRole?: string;
}

/**
 * Receptive mode's settings, or undefined for the usual outbound agent. Inconsistent combinations are
 * problems, each with its fix.
 */
export function checkReceptive(
  a: ModesRaw,
  configKey: string,
  bad: (field: string) => boolean,
  problems: Problem[],
): ReceptiveConfig | undefined {
  const key = (f: string) => `${configKey}.${f}`;
  // An invalid receptive setting is reported already; rules across settings would only add noise.
  if (bad("receptive") || bad("receptiveUrl")) return undefined;
  const r = a.receptive ?? {};
  const expose = r.expose ?? "none";
  if (a.receptiveUrl !== undefined && r.url !== undefined && a.receptiveUrl !== r.url)
    problems.push({
      key: key("receptiveUrl"),
      message: `is ${a.receptiveUrl} while agent.receptive.url is ${r.url}; agent.receptive.url replaces it. Fix: pulumi config rm --path '${key("receptiveUrl")}'`,
    });
  const url = r.url ?? a.receptiveUrl;
  const receptive = url !== undefined || expose !== "none";
  const sourceRanges = r.sourceRanges;
  if (sourceRanges !== undefined && expose === "none")
    problems.push({
      key: key("receptive.sourceRanges"),
      message: `is set, but agent.receptive.expose is none, so there is no load balancer for it to restrict. Fix: pulumi config set --path '${key("receptive.expose")}' internal, or pulumi config rm --path '${key("receptive.sourceRanges")}'`,
    });
  if (expose === "internet-facing" && (sourceRanges ?? []).length === 0)
    problems.push({
      key: key("receptive.sourceRanges"),
      message:
        `is ${sourceRanges ? "empty" : "not set"} while agent.receptive.expose is internet-facing: the load balancer would let anyone on the internet reach agentk's receptive API (plain gRPC on port ${RECEPTIVE_API_PORT}). ` +
        `Fix: pulumi config set --path '${key("receptive.sourceRanges[0]")}' <the CIDR block your GitLab connects from, e.g. 203.0.113.0/24>, ` +
        `or, to accept every address knowingly, pulumi config set --path '${key("receptive.sourceRanges[0]")}' ${ANY_SOURCE}`,
    });
  if (sourceRanges && sourceRanges.length > 1 && sourceRanges.includes(ANY_SOURCE))
    problems.push({
      key: key("receptive.sourceRanges"),
      message: `lists ${ANY_SOURCE} (every address) with other blocks, which then restrict nothing. Fix: pulumi config set --path '${key("receptive.sourceRanges")}' '["${ANY_SOURCE}"]', or remove ${ANY_SOURCE} from the list`,
    });
  if (!receptive) {
    for (const f of ["caCert", "tlsHost"] as const)
      if (r[f] !== undefined)
        problems.push({
          key: key(`receptive.${f}`),
          message: `is set, but the agent is not receptive (no agent.receptive.url and agent.receptive.expose is none). Fix: pulumi config set --path '${key("receptive.url")}' grpcs://agent.example.com:443, or pulumi config rm --path '${key(`receptive.${f}`)}'`,
        });
    return undefined;
  }
  if (a.kasAddress !== undefined)
    problems.push({
      key: key("kasAddress"),
      message: `is set together with receptive mode; a receptive agent does not connect to KAS. Fix: pulumi config rm --path '${key("kasAddress")}'`,
    });
  const plain = url === undefined || url.startsWith("grpc://");
  if (plain)
    for (const f of ["caCert", "tlsHost"] as const)
      if (r[f] !== undefined)
        problems.push({
          key: key(`receptive.${f}`),
          message: `is a TLS setting, but GitLab connects ${url === undefined ? "to the load balancer's address over plain grpc://" : `over plain grpc:// (${url})`}. Fix: pulumi config set --path '${key("receptive.url")}' grpcs://<your DNS name>:443 (TLS terminated in front of agentk, see docs/agent-modes.md), or pulumi config rm --path '${key(`receptive.${f}`)}'`,
        });
  if (expose !== "none" && url !== undefined && url.startsWith("grpcs://"))
    problems.push({
      key: key("receptive.expose"),
      message: `creates a TCP load balancer straight to agentk, which listens without TLS, so GitLab cannot reach ${url} over grpcs:// through it. Fix: pulumi config set --path '${key("receptive.expose")}' none and terminate TLS in front of agentk yourself, or drop the URL (pulumi config rm --path '${key("receptive.url")}') and let the load balancer's address become a grpc:// URL`,
    });
  return { url, caCert: r.caCert, tlsHost: r.tlsHost, expose, ...(sourceRanges ? { sourceRanges } : {}) };
}

/** The RBAC mode with the names it needs; production refuses cluster-admin in any spelling. */
export function checkRbac(
  a: ModesRaw,
  ctx: {
    configKey: string;
    stack: string;
    tier: string;
    production: boolean;
    bad: (field: string) => boolean;
  },
  problems: Problem[],
): AgentRbac | undefined {
  const key = (f: string) => `${ctx.configKey}.${f}`;
  const mode = a.rbac ?? "least-privilege";
  const before = problems.length;
  const needs = {
    "existing-service-account": ["existingServiceAccount", "gitlab-agent"],
    "existing-role": ["existingRole", "gitlab-agent-deployer"],
  } as const;
  for (const [m, [f, example]] of Object.entries(needs)) {
    if (mode === m && a[f] === undefined && !ctx.bad(f))
      problems.push({
        key: key(f),
        message: `is not set; agent.rbac ${m} names the ${f === "existingRole" ? "ClusterRole" : "service account"} to use. Fix: pulumi config set --path '${key(f)}' ${example}`,
      });
    if (mode !== m && a[f] !== undefined)
      problems.push({
        key: key(f),
        message: `is set, but agent.rbac is ${mode}, which does not use it. Fix: pulumi config set --path '${key("rbac")}' ${m}, or pulumi config rm --path '${key(f)}'`,
      });
  }
  const admin = mode === "cluster-admin" || (mode === "existing-role" && a.existingRole === "cluster-admin");
  if (admin && ctx.production)
    problems.push({
      key: key(mode === "cluster-admin" ? "rbac" : "existingRole"),
      message:
        `cluster-admin is refused for a production stack (stack "${ctx.stack}", tier ${ctx.tier}): any CI job with access to the agent ` +
        `could do anything in the cluster. Fix: pulumi config set --path '${key("rbac")}' least-privilege and grant namespaces through agent.ciAccess`,
    });
  else if (mode === "existing-role" && a.existingRole === "cluster-admin")
    problems.push({
      key: key("existingRole"),
      message: `is cluster-admin, which agent.rbac cluster-admin spells explicitly. Fix: pulumi config set --path '${key("rbac")}' cluster-admin and pulumi config rm --path '${key("existingRole")}'`,
    });
  if (problems.length > before) return undefined;
  return {
    rbac: mode,
    ...(mode === "existing-service-account" ? { existingServiceAccount: a.existingServiceAccount } : {}),
    ...(mode === "existing-role" ? { existingRole: a.existingRole } : {}),
  };
}
