/**
 * Runs gitlab-ci-local (pinned devDependency) on a throwaway git repository built from a fixture consumer
 * project, with this repository's templates/ included as a CI/CD component at the repository's HEAD.
 *
 * How the component is found: gitlab-ci-local treats `component: <host>/<group>/<project>/<name>@<sha>` as
 * local when <group>/<project> is the repository's `origin` and <sha> its HEAD, and then reads
 * templates/<name>.yml from the working tree. The `include: local:` inside the pipeline component becomes a
 * project include of the same project at the same sha, which gitlab-ci-local would `git clone` from the
 * remote; we pre-seed its include cache (.gitlab-ci-local/includes/<host>/<project>/<sha>/) with the
 * same templates instead, as no remote exists here.
 *
 * Jobs run with --force-shell-executor, with test/fixtures/bin (the stand-in `pulumi`) and a `gitlab-eks`
 * wrapper around the compiled CLI first on PATH: the latter is what the component's helper install step
 * puts on PATH from the package registry in a real pipeline.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { ROOT } from "./cli";

/**
 * The mocha timeout of every test and hook (.mocharc.json's `timeout`, the same figure): 10 minutes. It is
 * there to end a real hang, never to judge speed, so it is far above what any test takes on a loaded 2-core
 * machine (the slowest hook, the component's 17 job runs, takes under a minute there).
 */
export const HANG_TIMEOUT_MS = 600_000;

/**
 * A suite's timeout sized from its work, never below HANG_TIMEOUT_MS: this many gitlab-ci-local runs
 * (jobs or listings), each allowed a minute (about 40 times what one takes on an idle 2-core machine), so
 * a busy machine slows a test down without failing it, while a hung run still ends.
 */
export const gclTimeout = (runs: number): number => Math.max(HANG_TIMEOUT_MS, runs * 60_000);

/** The same for runs of the CLI or the stand-in pulumi (a Node or bash start-up, about 0.1 s idle): 30 s each. */
export const processTimeout = (runs: number): number => Math.max(HANG_TIMEOUT_MS, runs * 30_000);

export const GCL = path.join(ROOT, "node_modules", "gitlab-ci-local", "src", "index.js");
export const REMOTE_HOST = "gitlab.example.com";

export interface ConsumerRepo {
  dir: string;
  sha: string;
  projectPath: string;
  /** Appended to by the stand-in pulumi, one line per call. */
  pulumiLog: string;
  env: Record<string, string>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** With `cpu`: user + system CPU seconds of the run and every process it waited for (GNU time). */
  cpuSeconds?: number;
}

/** GNU time, which reports the CPU time of a process tree: far steadier than wall time on a busy machine. */
const GNU_TIME = "/usr/bin/time";
const CPU_LINE = /^gitlab-eks-cpu ([\d.]+) ([\d.]+)\n?/m;

function git(dir: string, ...args: string[]): string {
  const r = spawnSync("git", args, { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Repositories made by this process, removed when it exits (set GITLAB_EKS_KEEP_TMP=1 to keep them). */
const made: string[] = [];
process.on("exit", () => {
  if (!process.env.GITLAB_EKS_KEEP_TMP)
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A git repository holding the fixture consumer plus templates/, with origin <host>/<projectPath>. */
export function consumerRepo(
  fixture: string,
  options: {
    projectPath?: string;
    /** false: no `gitlab-eks` of this checkout on PATH; the job must install the helper itself. */
    helperOnPath?: boolean;
    /** Replaces the fixture's .gitlab-ci.yml. */
    gitlabCi?: string;
    /** Copy these paths of this repository instead of a fixture (to run this repository's own pipeline). */
    fromRoot?: string[];
  } = {},
): ConsumerRepo {
  const projectPath = options.projectPath ?? "platform/infra-live";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitlab-eks-gcl-"));
  made.push(dir);
  if (options.fromRoot)
    for (const p of options.fromRoot) fs.cpSync(path.join(ROOT, p), path.join(dir, p), { recursive: true });
  else fs.cpSync(path.join(ROOT, "test", "fixtures", fixture), dir, { recursive: true });
  fs.cpSync(path.join(ROOT, "templates"), path.join(dir, "templates"), { recursive: true });
  if (options.gitlabCi !== undefined) fs.writeFileSync(path.join(dir, ".gitlab-ci.yml"), options.gitlabCi);
  fs.writeFileSync(path.join(dir, ".gitignore"), ".gitlab-ci-local/\n");
  git(dir, "init", "-q", "-b", "main");
  git(dir, "remote", "add", "origin", `https://${REMOTE_HOST}/${projectPath}.git`);
  git(dir, "add", "-A");
  commit(dir, "fixture");
  const sha = git(dir, "rev-parse", "HEAD");
  seedIncludes(dir, projectPath, sha);

  const bin = path.join(dir, ".gitlab-ci-local", "test-bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, "gitlab-eks"),
    `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, "dist", "infra", "cli", "main.js")}" "$@"\n`,
    { mode: 0o755 },
  );
  const pulumiLog = path.join(dir, ".gitlab-ci-local", "pulumi-calls.log");
  const env: Record<string, string> = {
    PATH: [
      path.join(ROOT, "test", "fixtures", "bin"),
      ...(options.helperOnPath === false ? [] : [bin]),
      path.dirname(process.execPath),
      process.env.PATH,
    ].join(path.delimiter),
    PULUMI_STANDIN_LOG: pulumiLog,
  };
  return { dir, sha, projectPath, pulumiLog, env };
}

function seedIncludes(dir: string, projectPath: string, sha: string): void {
  const cache = path.join(dir, ".gitlab-ci-local", "includes", REMOTE_HOST, projectPath, sha);
  fs.cpSync(path.join(ROOT, "templates"), path.join(cache, "templates"), { recursive: true });
}

function commit(dir: string, message: string, ...args: string[]): void {
  git(
    dir,
    "-c",
    "user.name=test",
    "-c",
    "user.email=test@example.invalid",
    "commit",
    "-qm",
    message,
    ...args,
  );
}

/** A new (empty) commit on the repository's branch: later runs see it as CI_COMMIT_SHA. */
export function commitAgain(repo: ConsumerRepo, message = "next change"): string {
  commit(repo.dir, message, "--allow-empty");
  repo.sha = git(repo.dir, "rev-parse", "HEAD");
  seedIncludes(repo.dir, repo.projectPath, repo.sha);
  return repo.sha;
}

/** Runs gitlab-ci-local in the repository; `variables` become --variable K=V (predefined ones too). */
export function gcl(
  repo: ConsumerRepo,
  args: string[],
  variables: Record<string, string> = {},
  env: Record<string, string> = {},
  options: { cpu?: boolean } = {},
): Promise<RunResult> {
  const varArgs = Object.entries(variables).flatMap(([k, v]) => ["--variable", `${k}=${v}`]);
  const ignore = Object.keys(variables).filter((k) => k.startsWith("CI_"));
  const all = [
    GCL,
    ...(ignore.length ? ["--ignore-predefined-vars", ignore.join(",")] : []),
    ...varArgs,
    ...args,
  ];
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    ...repo.env,
    ...env,
    FORCE_COLOR: "0",
  };
  for (const k of Object.keys(childEnv)) if (k.startsWith("GITLAB_EKS_") || k === "CI") delete childEnv[k];
  return new Promise((resolve, reject) => {
    const cpu = options.cpu && fs.existsSync(GNU_TIME);
    const child = cpu
      ? spawn(GNU_TIME, ["-f", "gitlab-eks-cpu %U %S", process.execPath, ...all], {
          cwd: repo.dir,
          env: childEnv,
        })
      : spawn(process.execPath, all, { cwd: repo.dir, env: childEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    // gitlab-ci-local 4.65 does not check `regex` (test/templates.test.ts does) and says so once per input.
    const quiet = (text: string) => text.replace(/^.*spec:inputs:regex is currently not supported.*\n/gm, "");
    child.on("close", (code) => {
      const m = CPU_LINE.exec(stderr);
      const cpuSeconds = m ? Number(m[1]) + Number(m[2]) : undefined;
      resolve({ code, stdout: quiet(stdout), stderr: quiet(stderr.replace(CPU_LINE, "")), cpuSeconds });
    });
  });
}

/** The merged configuration gitlab-ci-local wrote for the last run in `repo`. */
export function expandedConfig(repo: ConsumerRepo): string {
  return fs.readFileSync(path.join(repo.dir, ".gitlab-ci-local", "expanded-gitlab-ci.yml"), "utf8");
}

/** Job logs gitlab-ci-local kept for the last runs. */
export function jobLogs(repo: ConsumerRepo): string {
  const dir = path.join(repo.dir, ".gitlab-ci-local", "output");
  if (!fs.existsSync(dir)) return "";
  return fs
    .readdirSync(dir)
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .join("\n");
}

/** A file the jobs wrote in the project folder (the shell executor runs jobs in place). */
export function projectFile(repo: ConsumerRepo, file: string): string {
  return fs.readFileSync(path.join(repo.dir, file), "utf8");
}

const SCRIPT_KEYS = new Set(["script", "before_script", "after_script"]);

/**
 * What a consumer's pipeline gets from each job of an expanded configuration, apart from the commands it
 * runs: variables, rules, needs, environment, resource group, stage, image, ID tokens, cache, artifacts.
 * The templates' scripts may change freely; this must not, or consumers' pipelines change.
 */
export function jobContracts(expanded: string): Record<string, Record<string, unknown>> {
  const doc = parse(expanded) as Record<string, unknown>;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, job] of Object.entries(doc)) {
    if (!job || typeof job !== "object" || Array.isArray(job) || !("script" in job)) continue;
    out[name] = Object.fromEntries(Object.entries(job).filter(([k]) => !SCRIPT_KEYS.has(k)));
  }
  return out;
}
