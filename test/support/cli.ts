/** Runs the compiled `gitlab-eks` CLI as a child process, as a user runs it. */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const CLI = path.join(ROOT, "dist", "infra", "cli", "main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliEnv(extra: Record<string, string> = {}) {
  const env = { ...process.env, ...extra };
  for (const k of ["AWS_REGION", "AWS_DEFAULT_REGION", "GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL"])
    if (!(k in extra)) delete env[k];
  return env;
}

export function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** As `cli`, without blocking this process: needed when the CLI talks to a server running in the test. */
export function cliAsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cliEnv(options.env),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A throwaway Pulumi project folder with the given stack files. */
export function projectDir(stacks: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-"));
  fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  for (const [name, text] of Object.entries(stacks))
    fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), text);
  return dir;
}
