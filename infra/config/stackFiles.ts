/**
 * Reads a Pulumi project's config the way the Pulumi CLI would hand it to the program, without the
 * Pulumi CLI: `Pulumi.yaml` (project name, project-level config defaults) and `Pulumi.<stack>.yaml`.
 * Offline: secure values stay encrypted and are represented by SECRET_PLACEHOLDER.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { ConfigError, Problem } from "./problems";

import { SECRET_PLACEHOLDER } from "../core/secret";

export { SECRET_PLACEHOLDER };

export interface StackFiles {
  project: string;
  stack: string;
  dir: string;
  values: Record<string, unknown>;
}

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

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
  for (const [key, value] of Object.entries(asRecord(stackDoc?.config))) {
    values[fullKey(key, projectName)] = redactSecure(value);
  }
  return { project: projectName, stack, dir, values };
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
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    problems.push({ key: path.basename(file), message: missing() });
    return undefined;
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    for (const e of doc.errors)
      problems.push({
        key: path.basename(file),
        message: `is not valid YAML: ${e.message.split("\n")[0]}. Fix: correct the file (or recreate it with pulumi config set)`,
      });
    return undefined;
  }
  const data = doc.toJS() as unknown;
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) {
    problems.push({ key: path.basename(file), message: "must be a YAML mapping" });
    return undefined;
  }
  return data as Record<string, unknown>;
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
