/**
 * The CI/CD component's inputs tables, read from each template's `spec:` header (templates/*.yml):
 * name, default (or required), type, options or regex, description. Inputs that every template declares
 * identically are listed once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { code } from "./schemaDoc";

export interface InputSpec {
  description?: string;
  type?: string;
  default?: unknown;
  options?: unknown[];
  regex?: string;
}

export interface Template {
  /** Component name: the file name without `.yml`. */
  name: string;
  /** The comment lines above `spec:`, joined (what the component is). */
  summary: string;
  inputs: Record<string, InputSpec>;
}

/** Workflow order; templates not listed here follow in file-name order. */
const ORDER = ["pipeline", "preview", "up", "promote", "drift", "destroy"];

export function readTemplates(dir: string): Template[] {
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yml"))
    .map((f) => f.slice(0, -".yml".length));
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((name) => {
    const file = path.join(dir, `${name}.yml`);
    const text = fs.readFileSync(file, "utf8");
    const [header] = parseAllDocuments(text);
    if (!header || header.errors.length > 0)
      throw new Error(
        `${file}: the spec header does not parse: ${header?.errors[0]?.message ?? "empty file"}`,
      );
    const spec = (header.toJS() as { spec?: { inputs?: Record<string, InputSpec> } }).spec;
    if (!spec?.inputs) throw new Error(`${file}: no spec:inputs header`);
    const comments = text.slice(0, text.indexOf("\nspec:")).split("\n");
    const summary = comments
      .filter((l) => l.startsWith("#") && !/^# Part of the gitlab-eks CI\/CD component/.test(l))
      .map((l) => l.replace(/^#\s?/, ""))
      .join(" ");
    return { name, summary, inputs: spec.inputs };
  });
}

/** Names of the inputs every template declares with exactly the same spec, in the first template's order. */
export function commonInputs(templates: Template[]): string[] {
  if (templates.length < 2) return [];
  const [first, ...rest] = templates;
  return Object.keys(first.inputs).filter((n) =>
    rest.every((t) => n in t.inputs && isDeepStrictEqual(t.inputs[n], first.inputs[n])),
  );
}

export function inputsReference(templates: Template[]): string {
  const common = commonInputs(templates);
  const parts: string[] = [];
  if (common.length > 0) {
    const first = templates[0];
    parts.push("### Inputs every component has\n", table(common.map((n) => [n, first.inputs[n]])));
  }
  for (const t of templates) {
    const own = Object.entries(t.inputs).filter(([n]) => !common.includes(n));
    parts.push(`### \`${t.name}\`\n`, `${text(t.summary)}\n`, table(own));
  }
  return parts.join("\n");
}

function table(inputs: [string, InputSpec][]): string {
  const rows = [
    "| input | default | type | description |",
    "| --- | --- | --- | --- |",
    ...inputs.map(
      ([name, spec]) =>
        `| ${code(name)} | ${defaultOf(spec)} | ${typeOf(spec)} | ${text(spec.description ?? "")} |`,
    ),
  ];
  const lists = inputs
    .filter(([, spec]) => typeof spec.default === "object" && spec.default !== null)
    .map(
      ([name, spec]) =>
        `Default of ${code(name)}:\n\n\`\`\`yaml\n${stringify(spec.default, { lineWidth: 0 })}\`\`\`\n`,
    );
  return [`${rows.join("\n")}\n`, ...lists].join("\n");
}

function defaultOf(spec: InputSpec): string {
  if (!("default" in spec)) return "**required**";
  if (typeof spec.default === "object" && spec.default !== null) return "see below";
  if (typeof spec.default === "string") return code(spec.default === "" ? '""' : spec.default);
  return code(JSON.stringify(spec.default));
}

function typeOf(spec: InputSpec): string {
  const parts = [spec.type ?? "string"];
  if (spec.options) parts.push(`one of ${spec.options.map((o) => code(String(o))).join(", ")}`);
  if (spec.regex !== undefined) parts.push(`matches ${code(spec.regex)}`);
  return parts.join(", ");
}

/** Plain text in a table cell: no raw HTML (`<stack>` would vanish), no column breaks. */
function text(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("|", "\\|");
}
