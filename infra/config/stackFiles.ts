/**
 * Reads a Pulumi project's config the way the Pulumi CLI would hand it to the program, without the
 * Pulumi CLI: `Pulumi.yaml` (project name, project-level config defaults) and `Pulumi.<stack>.yaml`.
 * Offline: secure values stay encrypted and are represented by SECRET_PLACEHOLDER.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isScalar, LineCounter, parseDocument, visit, type Document } from "yaml";
import { ConfigError, Problem } from "./problems";

import { SECRET_PLACEHOLDER } from "../core/secret";
import { escapeText } from "../core/text";

export { SECRET_PLACEHOLDER };

export interface StackFiles {
  project: string;
  stack: string;
  dir: string;
  values: Record<string, unknown>;
  /** Problems of the files' layout that do not stop validation (keys without a namespace). */
  problems: Problem[];
}

/**
 * Stack files are a few KB; anything over 1 MiB is a generated or corrupted file, refused before parsing
 * (a YAML parser takes minutes over a few MB of mappings).
 */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;
/** YAML aliases expanded at most this often per file (the `yaml` package's own guard against alias bombs). */
const MAX_ALIAS_COUNT = 100;

/** A stack name as Pulumi accepts it; anything else (`../../etc/passwd`) is a usage error. */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function readStackFiles(dir: string, stack: string): StackFiles {
  const problems: Problem[] = [];
  if (!STACK_NAME.test(stack)) {
    throw new ConfigError([
      {
        key: "--stack",
        message: `${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_' and '.'). Fix: --stack dev`,
      },
    ]);
  }
  const projectFile = path.join(dir, "Pulumi.yaml");
  const stackFile = path.join(dir, `Pulumi.${stack}.yaml`);
  const project = readYaml(
    projectFile,
    problems,
    () => `not found in ${dir}; run this in the Pulumi project's folder.`,
  );
  const stackDoc = readYaml(
    stackFile,
    problems,
    () =>
      `not found in ${dir}; stack "${stack}" has no config file` +
      `${existingStacks(dir).length ? ` (stacks here: ${existingStacks(dir).join(", ")})` : ""}. ` +
      `Fix: create it (copy Pulumi.dev.yaml) or run pulumi stack init ${stack}.`,
  );
  if (problems.length) throw new ConfigError(problems, stack);

  const projectName = typeof project?.name === "string" ? project.name : undefined;
  if (!projectName)
    throw new ConfigError([{ key: "Pulumi.yaml", message: "has no `name`; set the project name." }]);

  const values: Record<string, unknown> = {};
  // Project-level config: `key: value`, or `key: {value|default: ...}` (typed declarations).
  for (const [key, decl] of Object.entries(asRecord(project?.config))) {
    const full = fullKey(key, projectName);
    if (
      decl !== null &&
      typeof decl === "object" &&
      !Array.isArray(decl) &&
      ("value" in decl || "default" in decl)
    ) {
      const d = decl as Record<string, unknown>;
      values[full] = d.value ?? d.default;
    } else if (decl === null || typeof decl !== "object" || Array.isArray(decl) || !("type" in decl)) {
      values[full] = decl;
    }
  }
  const layout: Problem[] = [];
  const stackConfig = asRecord(stackDoc?.config);
  for (const [key, value] of Object.entries(stackConfig)) {
    const full = fullKey(key, projectName);
    if (!key.includes(":")) {
      const also = full in stackConfig ? ` and replaces the whole ${full} entry next to it` : "";
      layout.push({
        key,
        message:
          `in ${path.basename(stackFile)} has no namespace, so Pulumi reads it as ${full}${also}: did you mean ${full}? ` +
          `Fix: rename it to ${full} (merging it into that entry if there is one)`,
      });
      if (full in stackConfig) continue;
    }
    values[full] = redactSecure(value);
  }
  return { project: projectName, stack, dir, values, problems: layout };
}

/** Pulumi treats config keys without a namespace as the project's; ours is `gitlab-eks`. */
function fullKey(key: string, project: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function redactSecure(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(redactSecure);
  const rec = value as Record<string, unknown>;
  if (Object.keys(rec).length === 1 && typeof rec.secure === "string") return SECRET_PLACEHOLDER;
  return Object.fromEntries(Object.entries(rec).map(([k, x]) => [k, redactSecure(x)]));
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function readYaml(
  file: string,
  problems: Problem[],
  missing: () => string,
): Record<string, unknown> | undefined {
  const key = path.basename(file);
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_STACK_FILE_BYTES) {
      problems.push({
        key,
        message:
          `is ${size} bytes; a stack file holds settings, a few KB, and at most ${MAX_STACK_FILE_BYTES} bytes (1 MiB) are read. ` +
          `Fix: remove what does not belong there (a generated map or list?)`,
      });
      return undefined;
    }
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({
      key,
      message:
        code === "ENOENT" ? missing() : `cannot be read (${code ?? String(e)}). Fix: make it a readable file`,
    });
    return undefined;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    problems.push({
      key,
      message: `is not UTF-8 text (line ${invalidUtf8Line(bytes)} holds bytes that are not); YAML files are UTF-8. Fix: save it as UTF-8`,
    });
    return undefined;
  }
  // The parser's own duplicate-key check is quadratic (minutes over a 1 MiB map); ours is linear.
  const before = problems.length;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter });
  for (const duplicate of duplicateKeys(doc, lineCounter))
    problems.push({
      key,
      message: `has the key ${duplicate} twice; YAML keys are unique and one value would be lost. Fix: keep one`,
    });
  if (doc.errors.length || problems.length > before) {
    for (const e of doc.errors)
      problems.push({
        key,
        message: `is not valid YAML: ${e.message.split("\n")[0]}. Fix: correct the file (or recreate it with pulumi config set)`,
      });
    return undefined;
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    problems.push({
      key,
      message:
        `cannot be read: ${e instanceof Error ? e.message : String(e)} (YAML aliases expand to more than a stack file holds). ` +
        `Fix: write the values out instead of repeating aliases (*name)`,
    });
    return undefined;
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    problems.push({ key, message: "must be a YAML mapping. Fix: start it with config:" });
    return undefined;
  }
  return data as Record<string, unknown>;
}

/** Each key that appears twice in one mapping, as `"name" (line N)`. */
function duplicateKeys(doc: Document, lines: LineCounter): string[] {
  const found: string[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(k)) {
          const at =
            isScalar(pair.key) && pair.key.range ? ` (line ${lines.linePos(pair.key.range[0]).line})` : "";
          found.push(`${escapeText(JSON.stringify(k))}${at}`);
        }
        seen.add(k);
      }
    },
  });
  return found;
}

/** The line holding the first bytes that are not UTF-8 (a streaming decoder accepts a cut sequence). */
function invalidUtf8Line(bytes: Buffer): number {
  const valid = (end: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (valid(mid)) lo = mid;
    else hi = mid;
  }
  return bytes.subarray(0, lo).filter((b) => b === 0x0a).length + 1;
}

function existingStacks(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => !!s)
      .sort();
  } catch {
    return [];
  }
}
