/**
 * `gitlab-eks:autoscaler`: Cluster Autoscaler for the runner pool (on by default), its tuning, and the
 * optional headroom (warm runner nodes) with its on/off schedule. The shape is here; the rules that
 * relate it to the runner pool and the cluster are in checkAutoscaler below.
 */
import * as v from "valibot";
import { placeholderSize } from "../core/instances";
import { fix, flag, pattern, section, text, wholeNumber } from "./kit";
import { Problem, show } from "./problems";
import { quantity } from "./runnerSchema";
import type { PoolConfig } from "./types";

/**
 * Cluster Autoscaler supports the Kubernetes minor it was built for (its README's version table), so the
 * image follows the cluster: the latest patch release promoted to registry.k8s.io for each minor this
 * project supports (kubernetes/k8s.io#8815: 1.32.5, 1.33.3; 1.31.4 as kops pins it).
 */
export const AUTOSCALER_IMAGE_TAGS: Record<string, string> = {
  "1.31": "v1.31.4",
  "1.32": "v1.32.5",
  "1.33": "v1.33.3",
};

/**
 * cluster-autoscaler chart 9.50.1 (appVersion 1.33.0, 2025-08-14): pinned, so an upgrade is a reviewed
 * change. The image tag is not the chart's: it follows the cluster's Kubernetes minor (AUTOSCALER_IMAGES).
 */
export const DEFAULT_AUTOSCALER_CHART_VERSION = "9.50.1";
/** CA's own default for scale-down-unneeded-time; long enough that a pipeline's next stage finds the node. */
export const DEFAULT_SCALE_DOWN_DELAY = "10m";
/**
 * An image with sh and curl that the schedule's CronJob uses to patch the placeholder Deployment's scale
 * subresource (registry.k8s.io publishes no kubectl image to use instead).
 */
export const DEFAULT_SCHEDULE_IMAGE = "curlimages/curl:8.11.1";

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** A Go duration as CA's flags take it, in whole seconds, minutes or hours: 30s, 10m, 1h, 1h30m. */
const DURATION = /^(\d+h)?(\d+m)?(\d+s)?$/;
/** One cron field: digits, names (MON, JAN), `*`, `/`, `,`, `-`, `?`. */
const CRON_FIELD = /^[0-9A-Za-z*/,?-]+$/;
/** An IANA time zone name such as Europe/Berlin or Etc/UTC (CronJob spec.timeZone). */
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const IMAGE = /^[a-z0-9][a-z0-9._/:@-]*$/;

const cron = (example: string) =>
  v.pipe(
    text("a cron expression such as '0 7 * * 1-5'", `'"${example}"'`),
    v.check(
      (x) => {
        const fields = x.trim().split(/\s+/);
        return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
      },
      (i) =>
        `must be a cron expression of five fields (minute hour day-of-month month day-of-week), got ${show(i.input)}. ` +
        fix(`'"${example}"'`),
    ),
  );

export const autoscalerSchema = section({
  enabled: v.optional(flag(), true),
  chartVersion: v.optional(
    pattern("a cluster-autoscaler chart version such as 9.50.1", SEMVER, DEFAULT_AUTOSCALER_CHART_VERSION),
    DEFAULT_AUTOSCALER_CHART_VERSION,
  ),
  imageTag: v.optional(pattern("an image tag such as v1.33.3", /^v\d+\.\d+\.\d+$/, "v1.33.3")),
  scaleDownDelay: v.optional(
    v.pipe(
      text("a duration such as 10m", "10m"),
      v.check(
        (x) => x !== "" && DURATION.test(x),
        (i) => `must be a duration such as 10m, 90s or 1h, got ${show(i.input)}. ${fix("10m")}`,
      ),
    ),
    DEFAULT_SCALE_DOWN_DELAY,
  ),
  headroom: v.optional(
    section({
      nodes: v.optional(wholeNumber(0, 100, 1), 0),
      cpu: v.optional(quantity("cpu", "1400m")),
      memory: v.optional(quantity("memory", "2800Mi")),
      schedule: v.optional(
        section({
          // Both required; checkAutoscaler says so with the fix (valibot's own message would not).
          scaleUp: v.optional(cron("0 7 * * 1-5")),
          scaleDown: v.optional(cron("0 19 * * 1-5")),
          timeZone: v.optional(
            pattern("an IANA time zone such as Europe/Berlin", TIME_ZONE, "Etc/UTC"),
            "Etc/UTC",
          ),
          image: v.optional(
            pattern("a pinned image with sh and curl", IMAGE, DEFAULT_SCHEDULE_IMAGE),
            DEFAULT_SCHEDULE_IMAGE,
          ),
        }),
      ),
    }),
    {},
  ),
});

export interface HeadroomSchedule {
  /** Cron expression at which the placeholders are scaled to `nodes`. */
  scaleUp: string;
  /** Cron expression at which they are scaled to 0. */
  scaleDown: string;
  timeZone: string;
  /** Pinned image (sh + curl) of the CronJob that patches the Deployment's scale. */
  image: string;
}

export interface HeadroomConfig {
  /** Placeholder pods, one per runner node kept warm; 0 turns headroom off. */
  nodes: number;
  /** Requests of one placeholder pod. */
  cpu: string;
  memory: string;
  schedule?: HeadroomSchedule;
}

/** The validated section; StackConfig.autoscaler is undefined when `enabled` is false. */
export interface AutoscalerConfig {
  chartVersion: string;
  /** The cluster-autoscaler image tag; its minor is the cluster's Kubernetes minor. */
  imageTag: string;
  /** scale-down-unneeded-time and scale-down-delay-after-add. */
  scaleDownDelay: string;
  headroom: HeadroomConfig;
}

type Parsed = Partial<v.InferOutput<typeof autoscalerSchema>>;

/** Facts the rules need from other sections (undefined when those have problems of their own). */
export interface AutoscalerContext {
  kubernetesVersion?: string;
  runnerPool?: PoolConfig;
}

/**
 * The autoscaler section with defaults filled in; undefined when it is disabled or has problems (pushed
 * to `problems`). Also refuses `runnerPool.minSize: 0` without an autoscaler.
 */
export function checkAutoscaler(
  a: Parsed,
  bad: (field: string) => boolean,
  ctx: AutoscalerContext,
  problems: Problem[],
): AutoscalerConfig | undefined {
  const NS = "gitlab-eks:autoscaler";
  const key = (f: string) => `${NS}.${f}`;
  const before = problems.length;
  const enabled = a.enabled !== false;
  const pool = ctx.runnerPool;

  if (!bad("enabled") && !enabled && pool?.minSize === 0)
    problems.push({
      key: "gitlab-eks:runnerPool.minSize",
      message:
        `is 0 but autoscaler.enabled is false: nothing would ever add a runner node, so every job would wait ` +
        `until its poll timeout and fail. Fix: pulumi config set --path 'gitlab-eks:runnerPool.minSize' 1, ` +
        `or turn the autoscaler on (pulumi config rm --path '${key("enabled")}')`,
    });

  let imageTag: string | undefined;
  const version = ctx.kubernetesVersion;
  if (!bad("imageTag") && version !== undefined) {
    const derived = AUTOSCALER_IMAGE_TAGS[version];
    if (a.imageTag !== undefined) {
      const minor = /^v(\d+\.\d+)\./.exec(a.imageTag)?.[1];
      if (minor !== version)
        problems.push({
          key: key("imageTag"),
          message:
            `${show(a.imageTag)} is Cluster Autoscaler ${minor}, but the cluster runs Kubernetes ${version}; ` +
            `Cluster Autoscaler supports only the Kubernetes minor it was built for. ` +
            `Fix: pulumi config rm --path '${key("imageTag")}' (the default is ${derived ?? `a v${version}.x tag`}), ` +
            `or set a v${version}.x tag`,
        });
      else imageTag = a.imageTag;
    } else if (derived === undefined) {
      problems.push({
        key: key("imageTag"),
        message: `has no default for Kubernetes ${version}. Fix: pulumi config set --path '${key("imageTag")}' v${version}.0`,
      });
    } else imageTag = derived;
  }

  const h: Partial<NonNullable<Parsed["headroom"]>> = a.headroom ?? {};
  let headroom: HeadroomConfig | undefined;
  if (!bad("headroom")) {
    const nodes = h.nodes ?? 0;
    const size = pool ? placeholderSize(pool.instanceTypes) : undefined;
    const cpu = h.cpu ?? size?.cpu;
    const memory = h.memory ?? size?.memory;
    if (nodes > 0 && !enabled)
      problems.push({
        key: key("headroom.nodes"),
        message: `is ${nodes} but autoscaler.enabled is false; warm nodes need the autoscaler. Fix: pulumi config rm --path '${key("headroom")}'`,
      });
    if (pool && nodes > pool.maxSize)
      problems.push({
        key: key("headroom.nodes"),
        message:
          `(${nodes}) is more than runnerPool.maxSize (${pool.maxSize}); the autoscaler never grows the pool past its maximum. ` +
          `Fix: pulumi config set --path '${key("headroom.nodes")}' ${pool.maxSize}`,
      });
    if (pool && nodes > 0 && (cpu === undefined || memory === undefined))
      problems.push({
        key: key(cpu === undefined ? "headroom.cpu" : "headroom.memory"),
        message:
          `is not set, and the size of a runner node is not known for ${pool.instanceTypes.join(", ")}; ` +
          `a placeholder must fit on one runner node after its system pods. ` +
          `Fix: pulumi config set --path '${key("headroom.cpu")}' 1400m and '${key("headroom.memory")}' 2800Mi (about 70% of the node)`,
      });
    if (h.schedule && nodes === 0)
      problems.push({
        key: key("headroom.schedule"),
        message: `is set but headroom.nodes is 0, so there is nothing to schedule. Fix: pulumi config set --path '${key("headroom.nodes")}' 1`,
      });
    for (const [field, example] of [
      ["scaleUp", "0 7 * * 1-5"],
      ["scaleDown", "0 19 * * 1-5"],
    ] as const)
      if (h.schedule && h.schedule[field] === undefined)
        problems.push({
          key: key(`headroom.schedule.${field}`),
          message: `is not set; a schedule needs both scaleUp and scaleDown. Fix: pulumi config set --path '${key(`headroom.schedule.${field}`)}' '"${example}"'`,
        });
    if (h.schedule?.scaleUp && h.schedule.scaleUp.trim() === h.schedule.scaleDown?.trim())
      problems.push({
        key: key("headroom.schedule.scaleDown"),
        message: `is the same as scaleUp, so the headroom would be turned on and off at the same moment. Fix: give it the time the headroom should stop`,
      });
    if (problems.length > before) headroom = undefined;
    else if (cpu !== undefined && memory !== undefined)
      headroom = {
        nodes,
        cpu,
        memory,
        ...(h.schedule
          ? {
              schedule: {
                scaleUp: (h.schedule.scaleUp as string).trim(),
                scaleDown: (h.schedule.scaleDown as string).trim(),
                timeZone: h.schedule.timeZone as string,
                image: h.schedule.image as string,
              },
            }
          : {}),
      };
    else if (nodes === 0) headroom = { nodes: 0, cpu: "0", memory: "0" };
  }

  if (problems.length > before || Object.keys(a).some(bad) || !imageTag || !headroom || !enabled)
    return undefined;
  return {
    chartVersion: a.chartVersion as string,
    imageTag,
    scaleDownDelay: a.scaleDownDelay as string,
    headroom,
  };
}
