/**
 * Rules of `gitlab-eks:runner` that relate several settings, or the runner pool: runner type versus
 * project/group, tags GitLab would refuse, requests versus limits, and where the manager can live.
 */
import type * as v from "valibot";
import { parseQuantity } from "../core/quantity";
import { Problem, show } from "./problems";
import type { runnerSchema } from "./runnerSchema";
import type { PoolConfig } from "./types";
import type { Resources, RunnerConfig, RunnerScope } from "./runnerTypes";

type Parsed = Partial<v.InferOutput<typeof runnerSchema>>;

const RESERVED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];
/** GitLab Runner's own poll_timeout default: enough when a runner node is always up. */
export const DEFAULT_POLL_TIMEOUT = 180;
/**
 * With a runner pool that can be at zero nodes, a job pod waits for Cluster Autoscaler's scan (10 s), an
 * EC2 launch and node registration (a minute or more), then its image pull; 180 s is known to expire
 * first. 600 s covers it; under 300 s is refused.
 */
export const SCALE_FROM_ZERO_POLL_TIMEOUT = 600;
export const MIN_SCALE_FROM_ZERO_POLL_TIMEOUT = 300;

export interface RunnerContext {
  /** The runner pool as validated, or undefined when it has problems of its own. */
  runnerPool?: PoolConfig;
  /** Description of the runner in GitLab when runner.description is not set. */
  defaultDescription: string;
}

/**
 * The runner section, or undefined when it is absent (no runner), disabled, or has problems (pushed to
 * `problems`). `raw` is the section as written, `bad(field)` says a field failed its own schema.
 */
export function checkRunner(
  r: Parsed,
  raw: unknown,
  bad: (field: string) => boolean,
  ctx: RunnerContext,
  problems: Problem[],
): RunnerConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  const NS = "gitlab-eks:runner";
  const key = (f: string) => `${NS}.${f}`;
  const before = problems.length;
  const add = (field: string, message: string) => problems.push({ key: key(field), message });

  // ---- runner type and scope ----
  let scope: RunnerScope | undefined;
  if (!bad("runnerType") && !bad("project") && !bad("group")) {
    const type = r.runnerType ?? (r.group !== undefined ? "group_type" : "project_type");
    if (r.project !== undefined && r.group !== undefined) {
      add(
        "group",
        `is set together with runner.project; a runner belongs to one project or one group. ` +
          `Fix: pulumi config rm --path '${key("group")}' or '${key("project")}'`,
      );
    } else if (type === "project_type") {
      if (r.project === undefined)
        add(
          r.runnerType ? "project" : "runnerType",
          r.runnerType
            ? `is not set; a project_type runner needs the project it serves. Fix: pulumi config set --path '${key("project")}' my-group/my-project`
            : `is not set, and neither is runner.project or runner.group; say which project or group the runner serves. ` +
                `Fix: pulumi config set --path '${key("group")}' my-group (or '${key("project")}' my-group/my-project, or '${key("runnerType")}' instance_type with an admin token)`,
        );
      else scope = { runnerType: "project_type", project: r.project };
    } else if (type === "group_type") {
      if (r.group === undefined)
        add(
          "group",
          `is not set; a group_type runner needs the group it serves. Fix: pulumi config set --path '${key("group")}' my-group`,
        );
      else if (r.project !== undefined)
        add(
          "project",
          `is set but runner.runnerType is group_type. Fix: pulumi config rm --path '${key("project")}', or set runnerType project_type`,
        );
      else scope = { runnerType: "group_type", group: r.group };
    } else {
      const extra = r.project !== undefined ? "project" : r.group !== undefined ? "group" : undefined;
      if (extra)
        add(
          extra,
          `is set but runner.runnerType is instance_type, which serves every project of the instance. Fix: pulumi config rm --path '${key(extra)}'`,
        );
      else scope = { runnerType: "instance_type" };
    }
  }

  // ---- tags, as GitLab checks them ----
  const tags = r.tags ?? [];
  if (!bad("tags")) {
    const seen = new Set<string>();
    tags.forEach((tag, i) => {
      const where = `tags[${i}]`;
      if (tag.trim() === "")
        add(where, `is empty; GitLab drops empty tags. Fix: pulumi config rm --path '${key(where)}'`);
      else if (tag.includes(","))
        add(
          where,
          `${show(tag)} contains a comma; GitLab splits tag lists at commas, so this would become several tags. ` +
            `Fix: list each tag separately (pulumi config set --path '${key(where)}' ${tag.split(",")[0].trim()})`,
        );
      else if (tag !== tag.trim())
        add(
          where,
          `${show(tag)} starts or ends with a space, which GitLab strips. Fix: pulumi config set --path '${key(where)}' ${tag.trim()}`,
        );
      if (seen.has(tag.toLowerCase()))
        add(
          where,
          `${show(tag)} is listed twice (GitLab tags ignore case). Fix: pulumi config rm --path '${key(where)}'`,
        );
      seen.add(tag.toLowerCase());
    });
    if (!bad("runUntagged") && r.runUntagged === false && tags.length === 0)
      add(
        "runUntagged",
        `is false but runner.tags is empty, so the runner could pick no job at all; GitLab refuses this ` +
          `("Tags list can not be empty when runner is not allowed to pick untagged jobs"). ` +
          `Fix: pulumi config set --path '${key("tags[0]")}' eks, or set runUntagged true`,
      );
  }

  // ---- resources: request <= limit, and within the caps jobs may raise them to ----
  const pairs: [string, string, string][] = [];
  for (const group of ["jobResources", "helperResources", "managerResources"] as const) {
    if (bad(group) || !r[group]) continue;
    pairs.push([`${group}.cpuRequest`, `${group}.cpuLimit`, "limit"]);
    pairs.push([`${group}.memoryRequest`, `${group}.memoryLimit`, "limit"]);
  }
  if (!bad("jobResources") && r.jobResources) {
    pairs.push(["jobResources.cpuRequest", "jobResources.cpuRequestMaxAllowed", "cap"]);
    pairs.push(["jobResources.cpuLimit", "jobResources.cpuLimitMaxAllowed", "cap"]);
    pairs.push(["jobResources.memoryRequest", "jobResources.memoryRequestMaxAllowed", "cap"]);
    pairs.push(["jobResources.memoryLimit", "jobResources.memoryLimitMaxAllowed", "cap"]);
    pairs.push(["jobResources.cpuRequestMaxAllowed", "jobResources.cpuLimitMaxAllowed", "limit"]);
    pairs.push(["jobResources.memoryRequestMaxAllowed", "jobResources.memoryLimitMaxAllowed", "limit"]);
  }
  const at = (path: string): string => {
    const [group, field] = path.split(".");
    return (r as Record<string, Record<string, string>>)[group][field];
  };
  for (const [small, large, kind] of pairs) {
    const a = parseQuantity(at(small));
    const b = parseQuantity(at(large));
    if (a !== undefined && b !== undefined && a > b)
      add(
        small,
        `(${at(small)}) is more than runner.${large} (${at(large)}); ` +
          (kind === "limit"
            ? `Kubernetes refuses a pod whose request exceeds its limit. `
            : `the default would already exceed what jobs may ask for. `) +
          `Fix: pulumi config set --path '${key(large)}' '"${at(small)}"' or lower ${small}`,
      );
  }

  // ---- where the manager runs ----
  const placement = r.managerPlacement ?? "runner-pool";
  if (
    !bad("managerPlacement") &&
    ctx.runnerPool &&
    ctx.runnerPool.minSize === 0 &&
    placement === "runner-pool"
  )
    add(
      "managerPlacement",
      `is ${r.managerPlacement === undefined ? "runner-pool (the default)" : "runner-pool"} but runnerPool.minSize is 0. ` +
        `The manager pod runs all the time, so on the runner pool it keeps at least one runner node up and ` +
        `the pool can never shrink to zero; while the pool is at zero the manager cannot start at all. ` +
        `Fix: pulumi config set --path '${key("managerPlacement")}' system-pool (the manager moves to the system nodes; ` +
        `job pods still run only on the runner pool), or set runnerPool.minSize 1`,
    );

  const fromZero = ctx.runnerPool?.minSize === 0;
  if (
    !bad("pollTimeout") &&
    fromZero &&
    r.pollTimeout !== undefined &&
    r.pollTimeout < MIN_SCALE_FROM_ZERO_POLL_TIMEOUT
  )
    add(
      "pollTimeout",
      `(${r.pollTimeout} s) is too short for a runner pool that scales from zero (runnerPool.minSize 0): a job's pod ` +
        `waits for the autoscaler's scan, an EC2 launch and node registration (a minute or more) and its image pull, ` +
        `and the job fails when this timeout expires first. ` +
        `Fix: pulumi config set --path '${key("pollTimeout")}' ${SCALE_FROM_ZERO_POLL_TIMEOUT} (at least ${MIN_SCALE_FROM_ZERO_POLL_TIMEOUT}), ` +
        `or remove it to get ${SCALE_FROM_ZERO_POLL_TIMEOUT}`,
    );

  if (!bad("namespace") && r.namespace && RESERVED_NAMESPACES.includes(r.namespace))
    add(
      "namespace",
      `${show(r.namespace)} is reserved for Kubernetes itself; job pods and their RBAC need a namespace of their own. ` +
        `Fix: pulumi config set --path '${key("namespace")}' gitlab-runner`,
    );

  if (problems.length > before || !scope || Object.keys(r).some(bad)) return undefined;
  if (r.enabled === false) return undefined;
  return {
    scope,
    description: r.description ?? ctx.defaultDescription,
    tags: [...tags],
    runUntagged: r.runUntagged ?? true,
    locked: r.locked ?? false,
    accessLevel: r.accessLevel ?? "not_protected",
    maximumTimeout: r.maximumTimeout,
    paused: r.paused ?? false,
    managerPlacement: placement,
    concurrent: r.concurrent ?? 10,
    checkInterval: r.checkInterval ?? 3,
    pollTimeout: r.pollTimeout ?? (fromZero ? SCALE_FROM_ZERO_POLL_TIMEOUT : DEFAULT_POLL_TIMEOUT),
    privileged: r.privileged ?? false,
    image: r.image ?? "alpine:3",
    jobResources: { ...(r.jobResources as RunnerConfig["jobResources"]) },
    helperResources: { ...(r.helperResources as Resources) },
    managerResources: { ...(r.managerResources as Resources) },
    cache: { enabled: r.cache?.enabled ?? false, expirationDays: r.cache?.expirationDays ?? 14 },
    chartVersion: r.chartVersion as string,
    namespace: r.namespace as string,
    jobServiceAccountToken: r.jobServiceAccountToken ?? false,
  };
}
