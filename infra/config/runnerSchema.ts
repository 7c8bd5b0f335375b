/**
 * Shape of `gitlab-eks:runner` (types, formats, defaults). Rules relating several settings, and the
 * runner pool's `minSize`, live in runnerRules.ts.
 */
import * as v from "valibot";
import { cpuQuantityProblem, memoryQuantityProblem } from "../core/quantity";
import { show } from "./problems";
import { PROJECT_REF } from "./gitlab";
import { fix, flag, list, oneOf, pattern, section, text, wholeNumber } from "./kit";

export const RUNNER_TYPES = ["project_type", "group_type", "instance_type"] as const;
export const ACCESS_LEVELS = ["not_protected", "ref_protected"] as const;
export const MANAGER_PLACEMENTS = ["runner-pool", "system-pool"] as const;

/** gitlab-runner chart 0.86.0 (GitLab Runner 18.9.0): pinned, so an upgrade is a reviewed change. */
export const DEFAULT_RUNNER_CHART_VERSION = "0.86.0";
export const DEFAULT_RUNNER_NAMESPACE = "gitlab-runner";
/** GitLab refuses a maximum timeout under 10 minutes, and over a month. */
export const MIN_MAXIMUM_TIMEOUT = 600;
export const MAX_MAXIMUM_TIMEOUT = 2_592_000;

/** GitLab's limits on runner tags (Ci::Runner TAG_LIST_MAX_LENGTH, tag name length). */
export const MAX_RUNNER_TAGS = 50;
export const MAX_TAG_LENGTH = 255;
/** A runner description is a line in GitLab's runner list, not a document. */
export const MAX_DESCRIPTION_LENGTH = 1024;
/**
 * An OCI image reference ([registry[:port]/]path[:tag][@digest]), as the distribution reference grammar
 * defines it: lowercase path components, a tag of word characters, '.' and '-'.
 */
const IMAGE_REFERENCE = new RegExp(
  "^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\\d{1,5})?/)?" +
    "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*" +
    "(?::\\w[\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
);
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** A Kubernetes namespace: an RFC 1123 label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kubernetes CPU or memory quantity, given as a string or a number. */
export function quantity(kind: "cpu" | "memory", example: string) {
  const problem = kind === "cpu" ? cpuQuantityProblem : memoryQuantityProblem;
  return v.pipe(
    v.union(
      [v.string(), v.number()],
      (i) => `must be a Kubernetes ${kind} quantity, got ${show(i.input)}. ${fix(`'"${example}"'`)}`,
    ),
    v.transform((x) => String(x)),
    v.check(
      (x) => problem(x) === undefined,
      (i) => `${show(i.input)} ${problem(String(i.input))}. ${fix(`'"${example}"'`)}`,
    ),
  );
}

/** Requests and limits, with defaults. */
function resources(d: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string }) {
  return {
    cpuRequest: v.optional(quantity("cpu", d.cpuRequest), d.cpuRequest),
    cpuLimit: v.optional(quantity("cpu", d.cpuLimit), d.cpuLimit),
    memoryRequest: v.optional(quantity("memory", d.memoryRequest), d.memoryRequest),
    memoryLimit: v.optional(quantity("memory", d.memoryLimit), d.memoryLimit),
  };
}

/** Sized for the default runner pool (t3.medium: 2 vCPU, about 3.3 GiB allocatable). */
export const RUNNER_RESOURCE_DEFAULTS = {
  job: {
    cpuRequest: "500m",
    cpuLimit: "1",
    memoryRequest: "1Gi",
    memoryLimit: "2Gi",
    cpuRequestMaxAllowed: "1500m",
    cpuLimitMaxAllowed: "2",
    memoryRequestMaxAllowed: "2Gi",
    memoryLimitMaxAllowed: "3Gi",
  },
  helper: { cpuRequest: "100m", cpuLimit: "500m", memoryRequest: "128Mi", memoryLimit: "256Mi" },
  manager: { cpuRequest: "100m", cpuLimit: "500m", memoryRequest: "128Mi", memoryLimit: "256Mi" },
} as const;

const job = RUNNER_RESOURCE_DEFAULTS.job;

export const runnerSchema = section({
  enabled: v.optional(flag(), true),
  runnerType: v.optional(oneOf(RUNNER_TYPES)),
  project: v.optional(
    pattern("a GitLab project path such as platform/ci-jobs (or its numeric id)", PROJECT_REF, "platform/ci"),
  ),
  group: v.optional(
    pattern("a GitLab group path such as platform (or its numeric id)", PROJECT_REF, "platform"),
  ),
  description: v.optional(
    v.pipe(
      text("a description", "'my runner'", { max: MAX_DESCRIPTION_LENGTH }),
      v.nonEmpty(() => `is empty. Fix: pulumi config rm --path '{key}' to use the default`),
    ),
  ),
  tags: v.optional(
    list(
      text("a tag", "eks", { max: MAX_TAG_LENGTH }),
      "tags",
      `'["eks"]'`,
      MAX_RUNNER_TAGS,
      "GitLab's limit per runner",
    ),
    [],
  ),
  runUntagged: v.optional(flag(), true),
  locked: v.optional(flag(), false),
  accessLevel: v.optional(oneOf(ACCESS_LEVELS), "not_protected"),
  maximumTimeout: v.optional(wholeNumber(MIN_MAXIMUM_TIMEOUT, MAX_MAXIMUM_TIMEOUT, 3600)),
  paused: v.optional(flag(), false),
  managerPlacement: v.optional(oneOf(MANAGER_PLACEMENTS)),
  concurrent: v.optional(wholeNumber(1, 1000, 10), 10),
  checkInterval: v.optional(wholeNumber(1, 3600, 3), 3),
  // Default in runnerRules.ts: it depends on whether the runner pool can be at zero nodes.
  pollTimeout: v.optional(wholeNumber(30, 3600, 600)),
  privileged: v.optional(flag(), false),
  image: v.optional(
    v.pipe(
      text("a container image such as alpine:3", "alpine:3", { max: 512 }),
      v.regex(
        IMAGE_REFERENCE,
        (i) =>
          `must be an image reference such as alpine:3 or registry.example.com/team/image:tag (no spaces, no "{{": the chart templates runners.config), got ${show(i.input)}. ${fix("alpine:3")}`,
      ),
    ),
    "alpine:3",
  ),
  jobResources: v.optional(
    section({
      ...resources(job),
      cpuRequestMaxAllowed: v.optional(quantity("cpu", job.cpuRequestMaxAllowed), job.cpuRequestMaxAllowed),
      cpuLimitMaxAllowed: v.optional(quantity("cpu", job.cpuLimitMaxAllowed), job.cpuLimitMaxAllowed),
      memoryRequestMaxAllowed: v.optional(
        quantity("memory", job.memoryRequestMaxAllowed),
        job.memoryRequestMaxAllowed,
      ),
      memoryLimitMaxAllowed: v.optional(
        quantity("memory", job.memoryLimitMaxAllowed),
        job.memoryLimitMaxAllowed,
      ),
    }),
    {},
  ),
  helperResources: v.optional(section(resources(RUNNER_RESOURCE_DEFAULTS.helper)), {}),
  managerResources: v.optional(section(resources(RUNNER_RESOURCE_DEFAULTS.manager)), {}),
  cache: v.optional(
    section({
      enabled: v.optional(flag(), false),
      expirationDays: v.optional(wholeNumber(1, 3650, 14), 14),
    }),
    {},
  ),
  chartVersion: v.optional(
    pattern("a gitlab-runner chart version such as 0.86.0", SEMVER, DEFAULT_RUNNER_CHART_VERSION),
    DEFAULT_RUNNER_CHART_VERSION,
  ),
  namespace: v.optional(
    pattern(
      "a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)",
      DNS_LABEL,
      DEFAULT_RUNNER_NAMESPACE,
    ),
    DEFAULT_RUNNER_NAMESPACE,
  ),
  jobServiceAccountToken: v.optional(flag(), false),
});
