/**
 * Stack outputs to a dotenv artifact (artifacts:reports:dotenv) for later jobs and the environment URL.
 * `pulumi stack output --json` prints secret outputs as "[secret]" unless --show-secrets is given (the
 * component never gives it); those, and anything a dotenv line cannot hold, are left out.
 */
import type { Problem } from "../config/problems";

export interface DotenvResult {
  text: string;
  written: string[];
  skipped: string[];
  problems: Problem[];
}

/** `clusterName` -> `PULUMI_OUTPUT_CLUSTERNAME`; GitLab variable names are [A-Za-z0-9_]. */
export function variableName(output: string): string {
  return `PULUMI_OUTPUT_${output.replace(/[^A-Za-z0-9_]/g, "_").toUpperCase()}`;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return undefined;
}

const isSecret = (v: unknown) => v === "[secret]" || (typeof v === "string" && v.includes("[secret]"));

export function outputsToDotenv(outputs: unknown, urlOutput?: string): DotenvResult {
  const problems: Problem[] = [];
  const lines: string[] = [];
  const written: string[] = [];
  const skipped: string[] = [];
  if (!outputs || typeof outputs !== "object" || Array.isArray(outputs))
    return {
      text: "",
      written,
      skipped,
      problems: [{ key: "--json", message: "expected a JSON object of stack outputs." }],
    };
  const record = outputs as Record<string, unknown>;
  for (const name of Object.keys(record).sort()) {
    const v = record[name];
    const text = scalar(v);
    if (isSecret(v) || text === undefined || /[\r\n]/.test(text) || text.length > 4096) {
      skipped.push(name);
      continue;
    }
    lines.push(`${variableName(name)}=${text}`);
    written.push(name);
  }
  if (urlOutput) {
    const v = record[urlOutput];
    if (v === undefined)
      problems.push({
        key: "inputs.environment_url_output",
        message: `the stack has no output ${JSON.stringify(urlOutput)} (outputs: ${Object.keys(record).join(", ") || "none"}). Fix: export it from the program, or leave the input empty.`,
      });
    else if (isSecret(v) || typeof v !== "string" || !/^https?:\/\//.test(v))
      problems.push({
        key: "inputs.environment_url_output",
        message: `output ${JSON.stringify(urlOutput)} is ${isSecret(v) ? "a secret" : "not an http(s) URL"}; an environment URL must be a plain http(s) URL.`,
      });
    else lines.push(`ENVIRONMENT_URL=${v}`);
  }
  return { text: lines.length ? `${lines.join("\n")}\n` : "", written, skipped, problems };
}

/**
 * A gitlab-eks stack's `agents` output (name -> {project, namespace, ...}) as one line per agent, with the
 * kube context GitLab gives CI/CD jobs of the projects the agent's ci_access names (`<agent project
 * path>:<agent name>`); nothing for a program without that output. Printed by the `up` job, so the log
 * says which context reaches which agent when a cluster has several.
 */
export function agentContextLines(outputs: unknown): string[] {
  const agents = (outputs as Record<string, unknown> | null)?.agents;
  if (!agents || typeof agents !== "object" || Array.isArray(agents)) return [];
  const lines: string[] = [];
  for (const [name, a] of Object.entries(agents as Record<string, unknown>)) {
    const { project, namespace } = (a ?? {}) as Record<string, unknown>;
    if (typeof project !== "string" || isSecret(project)) continue;
    const where =
      typeof namespace === "string" && !isSecret(namespace) ? ` (agentk in namespace ${namespace})` : "";
    lines.push(`agent ${name}: kube context ${project}:${name}${where}`);
  }
  return lines;
}
