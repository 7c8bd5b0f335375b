/**
 * Validates a stack's configuration once, reporting every problem at once, and returns the typed
 * configuration with defaults filled in. Used by the Pulumi program (before any resource is registered)
 * and by the offline CLI (`gitlab-eks validate`, `render`); it imports nothing from @pulumi/*.
 */
import * as v from "valibot";
import { labelKeyProblem, labelValueProblem } from "../core/labels";
import { architectureOf } from "../core/instances";
import { closest, editDistance } from "../core/suggest";
import { SECRET_PLACEHOLDER } from "../core/secret";
import { subnetPlanProblem } from "../core/cidr";
import { checkAutoscaler } from "./autoscalerSchema";
import { checkAgent } from "./agent";
import { checkGitlab } from "./gitlab";
import { ConfigError, Problem, show } from "./problems";
import { checkRunner } from "./runnerRules";
import {
  AWS_REGION,
  CLUSTER_NAME,
  MAX_CLUSTER_NAME_LENGTH,
  NAMESPACE,
  POOL_DEFAULTS,
  SECTIONS,
  SectionName,
} from "./schema";
import type { ClusterConfig, NetworkConfig, PoolConfig, StackConfig } from "./types";

export interface ConfigInput {
  /** Pulumi project name (Pulumi.yaml `name`). */
  project: string;
  /** Stack name, e.g. `dev`. */
  stack: string;
  /** Config values by full key (`gitlab-eks:cluster`, `aws:region`); keys without a namespace are ours. */
  values: Record<string, unknown>;
  /** Environment, for the region fallback (AWS_REGION, AWS_DEFAULT_REGION) the AWS provider also uses. */
  env?: Record<string, string | undefined>;
}

/**
 * `unchecked`: keys holding a `secure:` value that only the Pulumi CLI can decrypt (offline they are
 * SECRET_PLACEHOLDER); they count as set, and the Pulumi program checks their decrypted values.
 */
export type Validation =
  | { ok: true; config: StackConfig; unchecked: string[] }
  | { ok: false; problems: Problem[]; unchecked: string[] };

type Sections = { [K in SectionName]?: v.InferOutput<(typeof SECTIONS)[K]> };

export function validateStackConfig(input: ConfigInput): Validation {
  const problems: Problem[] = [];
  const unchecked: string[] = [];
  const ours = new Map<string, unknown>();
  const values: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input.values)) {
    const key = rawKey.includes(":") ? rawKey : `${NAMESPACE}:${rawKey}`;
    values[key] = value;
    if (key.startsWith(`${NAMESPACE}:`)) ours.set(key.slice(NAMESPACE.length + 1), value);
    else misspeltNamespace(key, problems);
  }

  const known = Object.keys(SECTIONS);
  for (const name of ours.keys()) {
    if (!known.includes(name)) {
      const hint = suggest(name, known);
      problems.push({
        key: `${NAMESPACE}:${name}`,
        message:
          `unknown setting; it is not read${hint ? `: did you mean ${NAMESPACE}:${hint}?` : " (a typo?)."} ` +
          `Fix: pulumi config rm ${NAMESPACE}:${name}` +
          (hint ? ` and set ${NAMESPACE}:${hint} instead` : `; known settings: ${known.join(", ")}`),
      });
    }
  }

  const parsed: Sections = {};
  const invalid = new Set<string>();
  for (const name of known as SectionName[]) {
    const result = parseSection(name, ours.get(name), problems, invalid, unchecked);
    if (result) (parsed as Record<string, unknown>)[name] = result;
  }

  const afterParse = problems.length;
  const region = regionOf(values, input.env ?? {}, problems);
  const bad = (section: string) => (field: string) => invalid.has(`${section}.${field}`);
  const cluster =
    parsed.cluster && checkCluster(parsed.cluster, ours.get("cluster"), bad("cluster"), input, problems);
  const systemPool =
    parsed.systemPool && checkPool("systemPool", "system", parsed.systemPool, bad("systemPool"), problems);
  const runnerPool =
    parsed.runnerPool && checkPool("runnerPool", "runner", parsed.runnerPool, bad("runnerPool"), problems);
  const isolation = parsed.isolation && checkIsolation(parsed.isolation, bad("isolation"), problems);
  const gitlab = parsed.gitlab && checkGitlab(parsed.gitlab);
  const agent =
    parsed.agent &&
    parsed.gitlab &&
    checkAgent(
      parsed.agent,
      parsed.gitlab,
      {
        stack: input.stack,
        clusterName: cluster?.name ?? parsed.cluster?.name,
        bad: bad("agent"),
        agentProjectBad: bad("gitlab")("agentProject"),
      },
      problems,
    );
  const runner =
    parsed.runner &&
    checkRunner(
      parsed.runner,
      ours.get("runner"),
      bad("runner"),
      {
        runnerPool,
        defaultDescription: `${cluster?.name ?? `${input.project}-${input.stack}`} (gitlab-eks)`,
      },
      problems,
    );

  const autoscaler =
    parsed.autoscaler &&
    checkAutoscaler(
      parsed.autoscaler,
      bad("autoscaler"),
      {
        kubernetesVersion: bad("cluster")("kubernetesVersion")
          ? undefined
          : parsed.cluster?.kubernetesVersion,
        runnerPool,
      },
      problems,
    );

  // A rule that relates a secure value (a string that passed its own format) judged the placeholder.
  const secrets = secretKeys(ours);
  for (const p of problems.slice(afterParse).filter((p) => secrets.has(p.key))) {
    unchecked.push(p.key);
    problems.splice(problems.indexOf(p), 1);
  }

  if (
    problems.length > 0 ||
    !region ||
    !cluster ||
    !systemPool ||
    !runnerPool ||
    !isolation ||
    !parsed.tags
  ) {
    return { ok: false, problems: dedupe(problems), unchecked: [...new Set(unchecked)] };
  }
  return {
    ok: true,
    unchecked: [...new Set(unchecked)],
    config: {
      project: input.project,
      stack: input.stack,
      region,
      cluster,
      systemPool,
      runnerPool,
      isolation,
      ...(runner ? { runner } : {}),
      ...(autoscaler ? { autoscaler } : {}),
      tags: parsed.tags,
      gitlab: gitlab as NonNullable<typeof gitlab>,
      ...(agent ? { agent } : {}),
    },
  };
}

/** As validateStackConfig, but throws a ConfigError listing every problem. */
export function requireValidConfig(input: ConfigInput): StackConfig {
  const result = validateStackConfig(input);
  if (!result.ok) throw new ConfigError(result.problems, input.stack);
  return result.config;
}

/**
 * Parses one top-level section field by field, so that a bad field does not hide the rules that relate
 * the good ones: returns the section with defaults applied and bad fields left undefined (and recorded in
 * `invalid` as `section.field`), or undefined when the section is not an object at all.
 */
function parseSection(
  name: SectionName,
  raw: unknown,
  problems: Problem[],
  invalid: Set<string>,
  unchecked: string[],
) {
  const schema = SECTIONS[name];
  const base = `${NAMESPACE}:${name}`;
  const whole = v.safeParse(schema, raw ?? {}, { abortPipeEarly: true });
  if (whole.success) return whole.output;
  // A secure value is only known to the Pulumi CLI: it counts as set, whatever its type should be.
  const secret = (i: v.BaseIssue<unknown>) => i.input === SECRET_PLACEHOLDER && i.type !== "strict_object";
  unchecked.push(...issuesToProblems(base, whole.issues.filter(secret), schema).map((p) => p.key));
  problems.push(
    ...issuesToProblems(
      base,
      whole.issues.filter((i) => !secret(i)),
      schema,
    ),
  );
  if (!("entries" in schema) || raw === null || typeof raw !== "object" || Array.isArray(raw))
    return undefined;
  const partial: Record<string, unknown> = {};
  for (const [field, fieldSchema] of Object.entries(schema.entries)) {
    const one = v.safeParse(fieldSchema as v.GenericSchema, (raw as Record<string, unknown>)[field], {
      abortPipeEarly: true,
    });
    if (one.success) partial[field] = one.output;
    else invalid.add(`${name}.${field}`);
  }
  return partial as NonNullable<Sections[typeof name]>;
}

// ---- cross-setting rules ---------------------------------------------------------------------------

function regionOf(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
  problems: Problem[],
) {
  const configured = values["aws:region"];
  const region = configured ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const from = configured !== undefined ? "" : " (from the environment)";
  if (region === undefined || region === "") {
    problems.push({
      key: "aws:region",
      message: "is not set; the stack needs an AWS region. Fix: pulumi config set aws:region eu-west-1",
    });
    return undefined;
  }
  if (typeof region !== "string" || !AWS_REGION.test(region)) {
    problems.push({
      key: "aws:region",
      message: `${show(region)}${from} is not an AWS region name such as eu-west-1. Fix: pulumi config set aws:region eu-west-1`,
    });
    return undefined;
  }
  return region;
}

function checkCluster(
  c: NonNullable<Sections["cluster"]>,
  raw: unknown,
  bad: (field: string) => boolean,
  input: ConfigInput,
  problems: Problem[],
): ClusterConfig | undefined {
  const key = (field: string) => `${NAMESPACE}:cluster.${field}`;
  const before = problems.length;
  const given = (field: string) => typeof raw === "object" && raw !== null && field in raw;

  let name = c.name;
  if (name === undefined && !bad("name")) {
    name = `${input.project}-${input.stack}`;
    if (!CLUSTER_NAME.test(name) || name.length > MAX_CLUSTER_NAME_LENGTH) {
      problems.push({
        key: key("name"),
        message:
          `is not set and the default "${name}" (<project>-<stack>) is not a usable cluster name ` +
          `(letters, digits and '-', at most ${MAX_CLUSTER_NAME_LENGTH} characters). Fix: pulumi config set --path '${key("name")}' <name>`,
      });
    }
  }

  let network: NetworkConfig | undefined;
  const networkFields = [
    "vpcCidr",
    "vpcId",
    "privateSubnetIds",
    "publicSubnetIds",
    "availabilityZones",
    "availabilityZoneCount",
  ];
  if (networkFields.some(bad)) {
    // A bad network field was reported already; rules relating them would only guess.
  } else {
    const subnetsGiven = c.privateSubnetIds !== undefined || c.publicSubnetIds !== undefined;
    if (c.vpcCidr !== undefined && c.vpcId !== undefined) {
      problems.push({
        key: key("vpcId"),
        message:
          "is set together with cluster.vpcCidr; set vpcCidr to create a new VPC, or vpcId (with privateSubnetIds) " +
          `to use an existing one, not both. Fix: pulumi config rm --path '${key("vpcCidr")}' or '${key("vpcId")}'`,
      });
    } else if (c.vpcCidr === undefined && c.vpcId === undefined) {
      problems.push({
        key: key("vpcCidr"),
        message:
          "neither cluster.vpcCidr nor cluster.vpcId is set; the cluster needs a network. " +
          `Fix: pulumi config set --path '${key("vpcCidr")}' 10.0.0.0/16 to create a VPC, or set cluster.vpcId and cluster.privateSubnetIds to use an existing one`,
      });
    } else if (c.vpcCidr !== undefined) {
      if (subnetsGiven) {
        const field = c.privateSubnetIds !== undefined ? "privateSubnetIds" : "publicSubnetIds";
        problems.push({
          key: key(field),
          message:
            "is set without cluster.vpcId; subnet ids belong to an existing VPC, while vpcCidr creates a new one with its own subnets. " +
            `Fix: pulumi config rm --path '${key(field)}', or replace vpcCidr with vpcId`,
        });
      }
      const zones = c.availabilityZones;
      if (zones !== undefined && new Set(zones).size !== zones.length)
        problems.push({
          key: key("availabilityZones"),
          message: `lists a zone twice. Fix: list each zone once`,
        });
      if (zones !== undefined && zones.length < 2)
        problems.push({
          key: key("availabilityZones"),
          message: `lists ${zones.length} zone; EKS needs subnets in at least 2. Fix: list two or more zones`,
        });
      if (
        zones !== undefined &&
        c.availabilityZoneCount !== undefined &&
        c.availabilityZoneCount !== zones.length
      )
        problems.push({
          key: key("availabilityZoneCount"),
          message: `is ${c.availabilityZoneCount} but cluster.availabilityZones lists ${zones.length}; set one of them. Fix: pulumi config rm --path '${key("availabilityZoneCount")}'`,
        });
      const count = zones?.length ?? c.availabilityZoneCount ?? 2;
      const planProblem = subnetPlanProblem(c.vpcCidr, count);
      if (planProblem)
        problems.push({
          key: key("vpcCidr"),
          message: `${planProblem}. Fix: pulumi config set --path '${key("vpcCidr")}' 10.0.0.0/16`,
        });
      network = {
        mode: "create",
        vpcCidr: c.vpcCidr,
        availabilityZones: zones,
        availabilityZoneCount: count,
        natGateways: c.natGateways ?? "single",
      };
    } else {
      for (const field of ["availabilityZones", "availabilityZoneCount", "natGateways"] as const) {
        if (given(field))
          problems.push({
            key: key(field),
            message: `only applies to a VPC this stack creates (cluster.vpcCidr), but cluster.vpcId is set. Fix: pulumi config rm --path '${key(field)}'`,
          });
      }
      const privateIds = c.privateSubnetIds ?? [];
      if (privateIds.length < 2)
        problems.push({
          key: key("privateSubnetIds"),
          message:
            `${c.privateSubnetIds ? `lists ${privateIds.length} subnet` : "is not set"}; with cluster.vpcId, list the VPC's private subnets ` +
            `for nodes, in at least 2 availability zones. Fix: pulumi config set --path '${key("privateSubnetIds[0]")}' subnet-...`,
        });
      network = {
        mode: "existing",
        vpcId: c.vpcId as string,
        privateSubnetIds: privateIds,
        publicSubnetIds: c.publicSubnetIds ?? [],
      };
    }
  }

  if (c.endpointPublicAccess === false && c.endpointPrivateAccess === false)
    problems.push({
      key: key("endpointPublicAccess"),
      message:
        "and cluster.endpointPrivateAccess are both false; nothing could reach the Kubernetes API. " +
        `Fix: pulumi config set --path '${key("endpointPrivateAccess")}' true`,
    });
  if (c.endpointPublicAccess === false && c.publicAccessCidrs !== undefined)
    problems.push({
      key: key("publicAccessCidrs"),
      message: `is set but cluster.endpointPublicAccess is false, so it would have no effect. Fix: pulumi config rm --path '${key("publicAccessCidrs")}'`,
    });

  if (problems.length > before || !network || !name) return undefined;
  return {
    name,
    kubernetesVersion: c.kubernetesVersion,
    network,
    endpointPublicAccess: c.endpointPublicAccess,
    endpointPrivateAccess: c.endpointPrivateAccess,
    publicAccessCidrs: c.endpointPublicAccess ? (c.publicAccessCidrs ?? ["0.0.0.0/0"]) : [],
    adminRoleArns: [...new Set(c.adminRoleArns)],
    logTypes: [...new Set(c.logTypes)],
  };
}

function checkPool(
  field: "systemPool" | "runnerPool",
  role: "system" | "runner",
  p: NonNullable<Sections["systemPool"]>,
  bad: (field: string) => boolean,
  problems: Problem[],
): PoolConfig | undefined {
  const key = (f: string) => `${NAMESPACE}:${field}.${f}`;
  const before = problems.length;
  const d = POOL_DEFAULTS[role];
  const instanceTypes = p.instanceTypes ?? [...d.instanceTypes];
  const minSize = p.minSize ?? Math.min(d.minSize, p.maxSize ?? d.minSize);
  const maxSize = p.maxSize ?? Math.max(d.maxSize, minSize);
  const desiredSize = p.desiredSize ?? Math.min(Math.max(d.desiredSize, minSize), maxSize);

  if (!bad("minSize") && !bad("maxSize") && minSize > maxSize)
    problems.push({
      key: key("minSize"),
      message: `(${minSize}) is greater than ${field}.maxSize (${maxSize}). Fix: lower minSize or raise maxSize (pulumi config set --path '${key("maxSize")}' ${minSize})`,
    });
  else if (
    !["minSize", "maxSize", "desiredSize"].some(bad) &&
    (desiredSize < minSize || desiredSize > maxSize)
  )
    problems.push({
      key: key("desiredSize"),
      message: `(${desiredSize}) is outside [minSize, maxSize] = [${minSize}, ${maxSize}]. Fix: pulumi config set --path '${key("desiredSize")}' ${Math.min(Math.max(desiredSize, minSize), maxSize)}`,
    });
  if (role === "system" && maxSize < 1)
    problems.push({
      key: key("maxSize"),
      message: `must be at least 1: the system pool runs CoreDNS and the agent. Fix: pulumi config set --path '${key("maxSize")}' 2`,
    });

  if (bad("instanceTypes")) return undefined;
  const archs = new Set(instanceTypes.map(architectureOf));
  if (archs.size > 1)
    problems.push({
      key: key("instanceTypes"),
      message:
        `mixes arm64 (Graviton) and x86_64 instance types (${instanceTypes.join(", ")}); one node group runs one AMI architecture. ` +
        `Fix: list types of one architecture`,
    });
  if (new Set(instanceTypes).size !== instanceTypes.length)
    problems.push({
      key: key("instanceTypes"),
      message: `lists an instance type twice. Fix: list each type once`,
    });

  if (problems.length > before) return undefined;
  return {
    instanceTypes,
    capacityType: p.capacityType,
    minSize,
    maxSize,
    desiredSize,
    diskSizeGb: p.diskSizeGb ?? d.diskSizeGb,
  };
}

function checkIsolation(
  i: NonNullable<Sections["isolation"]>,
  bad: (field: string) => boolean,
  problems: Problem[],
) {
  const before = problems.length;
  if (bad("labelKey") || bad("labelValue")) return undefined;
  const keyProblem = labelKeyProblem(i.labelKey);
  if (keyProblem)
    problems.push({
      key: `${NAMESPACE}:isolation.labelKey`,
      message: `${show(i.labelKey)} is not a valid Kubernetes label key: ${keyProblem}. Fix: pulumi config set --path '${NAMESPACE}:isolation.labelKey' workload`,
    });
  const valueProblem = labelValueProblem(i.labelValue);
  if (valueProblem)
    problems.push({
      key: `${NAMESPACE}:isolation.labelValue`,
      message: `${valueProblem}. Fix: pulumi config set --path '${NAMESPACE}:isolation.labelValue' gitlab-runner`,
    });
  return problems.length > before ? undefined : i;
}

// ---- turning schema issues into problems -----------------------------------------------------------

function issuesToProblems(base: string, issues: v.BaseIssue<unknown>[], schema: v.GenericSchema): Problem[] {
  return issues.map((issue) => {
    const path = issue.path ?? [];
    const key =
      base + path.map((p) => (typeof p.key === "number" ? `[${p.key}]` : `.${String(p.key)}`)).join("");
    let message = issue.message;
    if (issue.type === "strict_object" && issue.expected === "never") {
      const parentPath = path.slice(0, -1);
      const siblings = knownKeysAt(
        schema,
        parentPath.map((p) => String(p.key)),
      );
      const name = String(path[path.length - 1]?.key);
      const hint = suggest(name, siblings);
      message = hint
        ? `unknown setting; it is not read: did you mean ${hint}? Fix: pulumi config rm --path '${key}' and set '${key.slice(0, key.length - name.length)}${hint}' instead`
        : `unknown setting; it is not read (a typo?); known settings here: ${siblings.join(", ")}. Fix: pulumi config rm --path '${key}'`;
    }
    return { key, message: message.replaceAll("{key}", key) };
  });
}

/** Setting names of the (nested) object at `path` in `schema`, looking through optional(). */
function knownKeysAt(schema: v.GenericSchema, path: string[]): string[] {
  let at: v.GenericSchema | undefined = schema;
  for (const field of ["", ...path]) {
    while (at && "wrapped" in at) at = (at as { wrapped: v.GenericSchema }).wrapped;
    if (field !== "") at = at && "entries" in at ? (at.entries as v.ObjectEntries)[field] : undefined;
  }
  while (at && "wrapped" in at) at = (at as { wrapped: v.GenericSchema }).wrapped;
  return at && "entries" in at ? Object.keys(at.entries as v.ObjectEntries) : [];
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.key}\u0000${p.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The closest known name, if it is close enough to be a likely typo. */
export const suggest = closest;

/** Full keys (`gitlab-eks:agent.noProxy`, `...tags[0]`) whose value is a secure one, shown as the placeholder. */
function secretKeys(ours: Map<string, unknown>): Set<string> {
  const found = new Set<string>();
  const walk = (key: string, value: unknown) => {
    if (value === SECRET_PLACEHOLDER) found.add(key);
    else if (Array.isArray(value)) value.forEach((x, i) => walk(`${key}[${i}]`, x));
    else if (value !== null && typeof value === "object")
      for (const [k, x] of Object.entries(value)) walk(`${key}.${k}`, x);
  };
  for (const [name, value] of ours) walk(`${NAMESPACE}:${name}`, value);
  return found;
}

/** Providers whose namespaces a stack file may hold besides ours. */
const OTHER_NAMESPACES = new Set(["aws", "pulumi", "kubernetes", "eks", "gitlab"]);

/**
 * A key in a namespace one edit away from ours (`gitlab-ekz:`, `gitlab_eks:`, `GitLab-EKS:`) is a typo
 * nothing reads: say so instead of ignoring it.
 */
function misspeltNamespace(key: string, problems: Problem[]): void {
  const [namespace, ...rest] = key.split(":");
  if (OTHER_NAMESPACES.has(namespace) || editDistance(namespace.toLowerCase(), NAMESPACE) > 1) return;
  const meant = `${NAMESPACE}:${rest.join(":")}`;
  problems.push({
    key,
    message:
      `is in namespace "${namespace}", one edit away from ${NAMESPACE}, so nothing reads it: did you mean ${meant}? ` +
      `Fix: rename it to ${meant} (pulumi config rm '${key}', then set ${meant})`,
  });
}
