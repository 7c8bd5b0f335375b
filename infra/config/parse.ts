/**
 * Turning raw config into typed sections: valibot parsing field by field, schema issues as problems with
 * full keys and did-you-mean hints, secure values, and misspelt namespaces.
 */
import * as v from "valibot";
import { closest, editDistance } from "../core/suggest";
import { SECRET_PLACEHOLDER } from "../core/secret";
import type { Problem } from "./problems";
import { NAMESPACE } from "./kit";

/**
 * Parses one section (or one entry of a list of sections) field by field, so that a bad field does not hide the rules that relate
 * the good ones: returns the section with defaults applied and bad fields left undefined (and recorded in
 * `invalid` as `section.field`), or undefined when the section is not an object at all.
 */
export function parseObject<S extends v.GenericSchema>(
  base: string,
  schema: S,
  raw: unknown,
  problems: Problem[],
  invalid: Set<string>,
  unchecked: string[],
): Partial<v.InferOutput<S>> | undefined {
  /** `invalid` holds `<path>.<field>` with the path after the namespace (`agent`, `agents[1]`). */
  const name = base.slice(NAMESPACE.length + 1);
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
  for (const [field, fieldSchema] of Object.entries(schema.entries as v.ObjectEntries)) {
    const one = v.safeParse(fieldSchema as v.GenericSchema, (raw as Record<string, unknown>)[field], {
      abortPipeEarly: true,
    });
    if (one.success) partial[field] = one.output;
    else invalid.add(`${name}.${field}`);
  }
  return partial as Partial<v.InferOutput<S>>;
}

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

export function dedupe(problems: Problem[]): Problem[] {
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
export function secretKeys(ours: Map<string, unknown>): Set<string> {
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
export function misspeltNamespace(key: string, problems: Problem[]): void {
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
