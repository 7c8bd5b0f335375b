/**
 * The CI/CD component's own overhead per job under gitlab-ci-local: everything but Pulumi itself, with
 * the stand-in `pulumi` (returns at once), the fake GitLab API, and warm caches (one unmeasured run of
 * each job first). Measured on this machine in this run; prints a breakdown per job:
 *   gitlab-ci-local  process start-up, YAML parsing with the component includes, GitLab CI schema validation
 *   job              the job as gitlab-ci-local times it, split into:
 *   helper           the `gitlab-eks` calls (`ci job <name>`), node start-up included, minus the pulumi
 *                    calls made inside them
 *   pulumi           the stand-in (so: process start only; real Pulumi time is not the component's)
 *   shell            the rest of the job: the bootstrap, artifacts and cache handling
 *   in job           job - pulumi: the component's own time inside the job
 *   overhead         total - pulumi: what the component (and gitlab-ci-local) adds around Pulumi
 *   cpu              user + system CPU time of the whole run (GNU time, /usr/bin/time; 0 without it),
 *                    stand-in pulumi included: unlike wall time, it hardly moves on a busy machine, so
 *                    two versions compare even under load
 * Works on older layouts too (templates calling pulumi between several `gitlab-eks ci` steps): a pulumi
 * call counts inside the helper only when it ran within a helper call, so runs of two versions compare.
 *   npm run build && node dist/scripts/bench-component.js [RUNS] [OTHER_CHECKOUT]
 * With OTHER_CHECKOUT (another built checkout of this repository, e.g. main's), every run alternates
 * between the two, and a row is printed for each.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { consumerWorld } from "../test/support/gitlab-world";
import { consumerRepo, gcl, type ConsumerRepo } from "../test/support/gcl";
import type { FakeGitlab } from "../test/support/fake-gitlab";

const root = path.resolve(__dirname, "..", "..");
const runs = Number(process.argv[2] ?? 5);
/** Another checkout (built) to compare with, run by run: `bench-component.js 5 /path/to/main`. */
const other = process.argv[3];

/** A wrapper that appends "<name> <start ns> <end ns>" to $BENCH_LOG around the real program. */
function timingWrapper(dir: string, name: string, real: string): void {
  fs.writeFileSync(
    path.join(dir, name),
    `#!/usr/bin/env bash\nstart=$(date +%s%N)\nstatus=0\n${real} "$@" || status=$?\n` +
      `echo "${name} $start $(date +%s%N)" >> "$BENCH_LOG"\nexit $status\n`,
    { mode: 0o755 },
  );
}

interface Call {
  name: string;
  start: number;
  end: number;
}

/** ms of the helper's own calls (pulumi calls made inside them left out), and of pulumi's. */
function split(calls: Call[]): { helper: number; pulumi: number } {
  const ms = (c: Call) => (c.end - c.start) / 1e6;
  const helpers = calls.filter((c) => c.name === "gitlab-eks");
  const pulumis = calls.filter((c) => c.name === "pulumi");
  const inside = (p: Call) => helpers.some((h) => h.start <= p.start && p.end <= h.end);
  const pulumi = pulumis.reduce((a, c) => a + ms(c), 0);
  const nested = pulumis.filter(inside).reduce((a, c) => a + ms(c), 0);
  return { helper: helpers.reduce((a, c) => a + ms(c), 0) - nested, pulumi };
}

/** The printed columns: heading, and the sample each shows. */
const COLUMNS = [
  ["total", "total"],
  ["gcl start", "start"],
  ["gcl parse", "parse"],
  ["gcl schema", "schema"],
  ["job", "job"],
  ["helper", "helper"],
  ["pulumi", "pulumi"],
  ["shell", "shell"],
  ["in job", "in job"],
  ["overhead", "overhead"],
  ["cpu", "cpu"],
] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A checkout to measure: its templates (in a consumer repository of its own) and its compiled helper. */
interface Tree {
  label: string;
  repo: ConsumerRepo;
  env: Record<string, string>;
  log: string;
}

/**
 * The consumer repository of a checkout: made by that checkout's own test support, so it holds that
 * checkout's templates and runs its stand-in pulumi; the helper and pulumi are wrapped to time them.
 */
async function tree(
  checkout: string,
  label: string,
  gitlab: { projectId: number },
  fake: FakeGitlab,
): Promise<Tree> {
  const support = (await import(path.join(checkout, "dist", "test", "support", "gcl.js"))) as {
    consumerRepo: typeof consumerRepo;
  };
  const repo = support.consumerRepo("consumer");
  // GitLab has the commit (the promotion branch is created at it) and dev runs it.
  fake.pushCommit(gitlab.projectId, "main", repo.sha);
  fake.addDeployment({ projectId: gitlab.projectId, environment: "dev", sha: repo.sha, ref: "main" });
  const bin = path.join(repo.dir, ".gitlab-ci-local", "bench-bin");
  fs.mkdirSync(bin);
  timingWrapper(
    bin,
    "gitlab-eks",
    `"${process.execPath}" "${path.join(checkout, "dist", "infra", "cli", "main.js")}"`,
  );
  timingWrapper(bin, "pulumi", `"${path.join(checkout, "test", "fixtures", "bin", "pulumi")}"`);
  const log = path.join(repo.dir, ".gitlab-ci-local", "bench.log");
  return { label, repo, log, env: { PATH: `${bin}${path.delimiter}${repo.env.PATH}`, BENCH_LOG: log } };
}

async function main() {
  const { fake, projectId, token, mrIid } = await consumerWorld();
  fake.addBranch(projectId, "staging");
  // With a second checkout (built, e.g. of main), each run alternates between the two, so both see the
  // same load: a busy machine slows both alike instead of whichever ran while it was busy.
  const trees = [await tree(root, "this", { projectId }, fake)];
  if (other)
    trees.push(await tree(path.resolve(other), path.basename(path.resolve(other)), { projectId }, fake));
  const common = {
    CI_SERVER_URL: fake.url,
    CI_PROJECT_ID: String(projectId),
    GITLAB_EKS_TOKEN: token,
    PULUMI_BACKEND_URL: "s3://bench/state",
    GITLAB_EKS_ID_TOKEN: "bench-id-token",
  };
  const jobs: [string, Record<string, string>][] = [
    [
      "dev:preview",
      {
        CI_PIPELINE_SOURCE: "merge_request_event",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME: "main",
        CI_MERGE_REQUEST_IID: String(mrIid),
        CI_COMMIT_BRANCH: "",
      },
    ],
    ["dev:up", { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" }],
    ["dev:promote", { CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: "main" }],
    ["dev:drift", { CI_PIPELINE_SOURCE: "schedule" }],
  ];
  console.log(
    `${runs} runs per job (medians), node ${process.version}, gitlab-ci-local 4.65.0, stand-in pulumi, fake GitLab`,
  );
  console.log(
    ["job", ...COLUMNS.map(([heading]) => heading)]
      .map((h, i) => (i ? h.padStart(12) : h.padEnd(12)))
      .join(""),
  );
  for (const [job, vars] of jobs) {
    const samples = trees.map(() => ({}) as Record<string, number[]>);
    for (let i = 0; i <= runs; i++)
      for (const [t, { repo, env, log }] of trees.entries()) {
        const add = (k: string, v: number) => (samples[t][k] ??= []).push(v);
        fs.writeFileSync(log, "");
        const start = process.hrtime.bigint();
        const r = await gcl(repo, ["--force-shell-executor", job], { ...common, ...vars }, env, {
          cpu: true,
        });
        const total = Number(process.hrtime.bigint() - start) / 1e6;
        const ok = job === "dev:drift" ? r.code !== 0 : r.code === 0; // the replayed preview has drift
        if (!ok) throw new Error(`${job} failed:\n${r.stdout}\n${r.stderr}`);
        if (i === 0) continue; // warm-up
        const ms = (re: RegExp, text: string) => {
          const m = re.exec(text);
          if (!m) return 0;
          return m[2] === "s" ? Number(m[1]) * 1000 : Number(m[1]);
        };
        const calls = fs
          .readFileSync(log, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => l.split(" "))
          .map(([name, start, end]) => ({ name, start: Number(start), end: Number(end) }));
        const { helper, pulumi } = split(calls);
        const jobMs = ms(new RegExp(`^${job} finished in ([\\d.]+) (ms|s)`, "m"), r.stdout + r.stderr);
        const parse = ms(/parsing and downloads finished in ([\d.]+) (ms|s)/, r.stderr);
        const schema = ms(/json schema validated in ([\d.]+) (ms|s)/, r.stderr);
        add("total", total);
        add("parse", parse);
        add("schema", schema);
        add("job", jobMs);
        add("helper", helper);
        add("pulumi", pulumi);
        add("shell", jobMs - helper - pulumi);
        add("in job", jobMs - pulumi);
        add("start", total - jobMs - parse - schema);
        add("overhead", total - pulumi);
        add("cpu", (r.cpuSeconds ?? 0) * 1000);
      }
    for (const [t, { label }] of trees.entries()) {
      const row = COLUMNS.map(([, k]) => `${median(samples[t][k]).toFixed(0)} ms`.padStart(12));
      console.log((trees.length > 1 ? `${job} ${label}` : job).padEnd(12) + row.join(""));
    }
  }
  console.log(
    "overhead = total - pulumi: what the component (and gitlab-ci-local) adds around Pulumi, per job; cpu = CPU time of the whole run.",
  );
  await fake.close();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
