/**
 * Reads the configuration reference out of the valibot schemas themselves (infra/config/schema.ts
 * SECTIONS): every key with its type, allowed values, ranges, formats and default, so the reference in
 * docs/configuration.md cannot drift from what validation accepts. Walks valibot's schema objects
 * (strictObject entries, optional defaults, picklist options, pipes with their actions); it never parses
 * TypeScript source.
 */
import * as v from "valibot";

/** The parts of a valibot schema or pipe action this walker reads. */
interface Node {
  kind: "schema" | "validation" | "transformation" | "metadata";
  type: string;
  requirement?: unknown;
  wrapped?: Node;
  default?: unknown;
  entries?: Record<string, Node>;
  options?: unknown[];
  item?: Node;
  key?: Node;
  value?: Node;
  literal?: unknown;
  pipe?: Node[];
}

export interface KeyDoc {
  /** Full key as `pulumi config set --path` spells it; `[]` stands for any list index. */
  key: string;
  /** "string", "whole number", "list of string", "object", ... with the rules the schema states. */
  type: string;
  /** The default valibot fills in, rendered as YAML; undefined when the schema has none. */
  default?: string;
  /** True for an object of further settings (its fields follow as their own keys). */
  object: boolean;
}

const OPTIONAL = new Set(["optional", "exact_optional", "nullish", "undefinedable"]);
const OBJECT = new Set(["strict_object", "object", "loose_object", "object_with_rest"]);

/** Every key under `prefix` (e.g. `gitlab-eks:cluster`), the section itself first, depth first. */
export function schemaKeys(prefix: string, schema: v.GenericSchema): KeyDoc[] {
  const out: KeyDoc[] = [];
  walk(schema as unknown as Node, prefix, out);
  return out;
}

function walk(node: Node, key: string, out: KeyDoc[]): void {
  let at = node;
  let def: { value: unknown } | undefined;
  while (OPTIONAL.has(at.type) && at.wrapped) {
    if (def === undefined && at.default !== undefined)
      def = { value: v.getDefault(at as unknown as v.OptionalSchema<v.GenericSchema, unknown>) };
    at = at.wrapped;
  }
  const { base, actions } = flatten(at);
  const object = OBJECT.has(base.type);
  out.push({
    key,
    type: describe(base, actions),
    object,
    ...(def !== undefined && !object ? { default: showValue(def.value) } : {}),
  });
  if (object)
    for (const [name, child] of Object.entries(base.entries ?? {})) walk(child, `${key}.${name}`, out);
  if (base.type === "array" && base.item) {
    const item = flatten(unwrap(base.item)).base;
    if (OBJECT.has(item.type))
      for (const [name, child] of Object.entries(item.entries ?? {})) walk(child, `${key}[].${name}`, out);
  }
}

function unwrap(node: Node): Node {
  let at = node;
  while (OPTIONAL.has(at.type) && at.wrapped) at = at.wrapped;
  return at;
}

/**
 * A piped schema as its type-giving schema and its actions, nested pipes included. The type-giving
 * schema is the last schema in the pipe: `pipe(unknown(), transform(coerce), number(), ...)` is a number.
 */
function flatten(node: Node): { base: Node; actions: Node[] } {
  if (!node.pipe) return { base: node, actions: [] };
  let base = node;
  const actions: Node[] = [];
  for (const item of node.pipe) {
    if (item.kind === "schema") {
      const inner = flatten(item);
      base = inner.base;
      actions.push(...inner.actions);
    } else actions.push(item);
  }
  return { base, actions };
}

/** Type and rules of one schema, e.g. "whole number, 2 to 6" or "list of string, each matches `…`". */
function describe(base: Node, actions: Node[]): string {
  const rules = rulesOf(base, actions);
  return [typeName(base, actions), ...rules].join(", ");
}

function typeName(base: Node, actions: Node[]): string {
  switch (base.type) {
    case "number":
      return actions.some((a) => a.type === "integer") ? "whole number" : "number";
    case "picklist":
      return "string";
    case "unknown":
    case "any":
      return "any";
    case "literal":
      return `\`${showValue(base.literal)}\``;
    case "array":
      return base.item ? `list of ${typeName(...typeAndActions(base.item))}` : "list";
    case "record":
      return `map of ${typeName(...typeAndActions(base.key as Node))} to ${typeName(...typeAndActions(base.value as Node))}`;
    case "union":
      return [...new Set((base.options as Node[]).map((o) => typeName(...typeAndActions(o))))].join(" or ");
    default:
      return OBJECT.has(base.type) ? "object" : base.type;
  }
}

function typeAndActions(node: Node): [Node, Node[]] {
  const { base, actions } = flatten(unwrap(node));
  return [base, actions];
}

function rulesOf(base: Node, actions: Node[]): string[] {
  const rules: string[] = [];
  if (base.type === "picklist")
    rules.push(`one of ${(base.options ?? []).map((o) => code(String(o))).join(", ")}`);
  const counted = base.type === "array" ? "item" : "character";
  const range = (lo: string, hi: string, one: string, many = `${one}s`) => {
    const min = actions.find((a) => a.type === lo)?.requirement;
    const max = actions.find((a) => a.type === hi)?.requirement;
    const unit = (n: unknown) => (one ? ` ${n === 1 ? one : many}` : "");
    if (min !== undefined && max !== undefined) rules.push(`${String(min)} to ${String(max)}${unit(max)}`);
    else if (min !== undefined) rules.push(`at least ${String(min)}${unit(min)}`);
    else if (max !== undefined) rules.push(`at most ${String(max)}${unit(max)}`);
  };
  range("min_value", "max_value", "");
  range("min_length", "max_length", counted);
  range("min_size", "max_size", "item");
  range("min_entries", "max_entries", "entry", "entries");
  for (const a of actions) {
    if (a.type === "length") rules.push(`exactly ${String(a.requirement)} ${counted}s`);
    if (a.type === "non_empty") rules.push("not empty");
    if (a.type === "regex") rules.push(`matches ${code(String((a.requirement as RegExp).source))}`);
  }
  if (base.type === "array" && base.item) {
    const [item, itemActions] = typeAndActions(base.item);
    if (!OBJECT.has(item.type)) rules.push(...rulesOf(item, itemActions).map((r) => `each ${r}`));
  }
  if (base.type === "record") {
    const [k, ka] = typeAndActions(base.key as Node);
    const [val, va] = typeAndActions(base.value as Node);
    rules.push(...rulesOf(k, ka).map((r) => `keys: ${r}`), ...rulesOf(val, va).map((r) => `values: ${r}`));
  }
  return rules;
}

/** A value as it would be written in a stack file (YAML flow style). */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    const plain = /^[A-Za-z_/][\w./:-]*$/.test(value) && !/^(true|false|null|yes|no|on|off)$/i.test(value);
    return plain ? value : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/** Inline code that survives a Markdown table cell: `|` escaped, backticks fenced. */
export function code(text: string): string {
  const escaped = text.replaceAll("|", "\\|");
  const fence = escaped.includes("`") ? "``" : "`";
  const pad = escaped.startsWith("`") || escaped.endsWith("`") ? " " : "";
  return `${fence}${pad}${escaped}${pad}${fence}`;
}
