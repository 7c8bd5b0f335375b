/**
 * The real Pulumi CLI for tests and scripts (see docs/real-engine.md):
 *   - `pulumiCli()` runs scripts/pulumi-cli (a `pulumi` on PATH, or the CLI built from Go modules into a cache)
 *     and throws with the script's reason when no CLI can be had, so the tests that need it FAIL;
 *   - `realStack()` makes a throw-away project: its own file:// backend, passphrase and PULUMI_HOME, offline
 *     (no update check, no plugin downloads), and runs CLI commands on it. The CLI runs the program itself
 *     through its `pulumi-language-nodejs` plugin (next to the built CLI: scripts/pulumi-language-nodejs).
 * Commands are spawned asynchronously: the fake GitLab the programs talk to runs in the test process.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..", "..");
/** The pinned version: the one of @pulumi/pulumi in package.json (what scripts/pulumi-cli builds). */
export const pinnedPulumiVersion = `v${
  (
    JSON.parse(
      fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8"),
    ) as { version: string }
  ).version
}`;

export interface PulumiCli {
  dir: string;
  binary: string;
  version: string;
}

let cli: Promise<PulumiCli> | undefined;

/** The real CLI, found or built once per process. Rejects with the reason when there is none. */
export function pulumiCli(): Promise<PulumiCli> {
  cli ??= (async () => {
    const script = path.join(repoRoot, "scripts", "pulumi-cli");
    const dir = await new Promise<string>((resolve, reject) =>
      execFile(script, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        err
          ? reject(
              new Error(
                `scripts/pulumi-cli found no Pulumi CLI and could not build one: ${stderr.trim() || err.message}`,
              ),
            )
          : resolve(stdout.trim()),
      ),
    );
    const binary = path.join(dir, "pulumi");
    const version = await new Promise<string>((resolve, reject) =>
      execFile(binary, ["version"], (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
    );
    return { dir, binary, version };
  })();
  return cli;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RealStack {
  /** The project folder (Pulumi.yaml and Pulumi.<stack>.yaml). */
  dir: string;
  /** The file:// backend's folder. */
  stateDir: string;
  stack: string;
  env: NodeJS.ProcessEnv;
  /** Runs `pulumi ARGS --stack STACK` (preview, up, refresh, destroy: the CLI runs the program). */
  run(args: string[], opts?: { env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** Runs `pulumi ARGS` without the program (stack, config, stack output). */
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** The stack's checkpoint as the backend stores it (a file:// backend's JSON). */
  stateFile(): string;
  state(): StackState;
  /** Removes the temp folder (project, state, PULUMI_HOME). */
  dispose(): void;
}

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  additionalSecretOutputs?: string[];
}
export interface StackState {
  checkpoint: { latest?: { resources?: StateResource[] } };
}

/**
 * A new project in a temp folder from `projectFile` (a Pulumi.yaml; its `main` is pointed at `program`),
 * with stack `stack` created on a file:// backend. `program` is the compiled program module.
 */
export async function realStack(opts: {
  projectFile: string;
  program: string;
  stack: string;
  /** A Pulumi.<stack>.yaml to start from (copied in before the stack is created). */
  stackFile?: string;
  config?: Record<string, string>;
  secretConfig?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** The project folder (default: a new temp folder); it must not exist or be empty. */
  dir?: string;
}): Promise<RealStack> {
  const { binary, dir: cliDir } = await pulumiCli();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-real-"));
  const dir = opts.dir ?? path.join(base, "project");
  const stateDir = path.join(base, "state");
  for (const d of [dir, stateDir, path.join(base, "home")]) fs.mkdirSync(d, { recursive: true });
  const mainRel = path.relative(dir, opts.program);
  const project = fs.readFileSync(opts.projectFile, "utf8").replace(/^main: .*$/m, `main: ${mainRel}`);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), project);
  if (opts.stackFile) fs.copyFileSync(opts.stackFile, path.join(dir, `Pulumi.${opts.stack}.yaml`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${cliDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "real-engine-test-passphrase",
    PULUMI_HOME: path.join(base, "home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    // The dynamic-provider plugin (a script) resolves @pulumi/pulumi from its working folder.
    NODE_PATH: path.join(repoRoot, "node_modules"),
    ...opts.env,
  };
  delete env.PULUMI_ACCESS_TOKEN;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  const exec = (cmd: string, args: string[], extra?: NodeJS.ProcessEnv) =>
    new Promise<RunResult>((resolve, reject) => {
      const child = spawn(cmd, args, {
        cwd: dir,
        env: { ...env, ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  const must = async (p: Promise<RunResult>, what: string) => {
    const r = await p;
    if (r.code !== 0) throw new Error(`pulumi ${what} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r;
  };
  const stack: RealStack = {
    dir,
    stateDir,
    stack: opts.stack,
    env,
    run: (args, o) => exec(binary, [...args, "--stack", opts.stack], o?.env),
    cli: (args, o) => exec(binary, args, o?.env),
    stateFile: () => path.join(stateDir, ".pulumi", "stacks", readProjectName(project), `${opts.stack}.json`),
    state: () => JSON.parse(fs.readFileSync(stack.stateFile(), "utf8")) as StackState,
    dispose: () => fs.rmSync(base, { recursive: true, force: true }),
  };
  await must(stack.cli(["stack", "init", opts.stack]), `stack init ${opts.stack}`);
  for (const [k, v] of Object.entries(opts.config ?? {})) {
    await must(stack.cli(["config", "set", "--stack", opts.stack, "--", k, v]), `config set ${k}`);
  }
  for (const [k, v] of Object.entries(opts.secretConfig ?? {})) {
    await must(
      stack.cli(["config", "set", "--secret", "--stack", opts.stack, "--", k, v]),
      `config set ${k}`,
    );
  }
  return stack;
}

function readProjectName(projectYaml: string): string {
  const m = /^name:\s*(\S+)\s*$/m.exec(projectYaml);
  if (!m) throw new Error("Pulumi.yaml has no `name:`");
  return m[1];
}

/** Throws unless `r` exited 0, with the command's output. */
export function expectOk(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}
