/**
 * Prints the wall time of the offline CLI commands next to a bare Node start, measured on this machine in
 * this run. Target: `validate` and `render` within 3x of `node -e 0`.
 *   npm run bench [-- RUNS]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const cli = path.join(root, "dist", "infra", "cli", "main.js");
const runs = Number(process.argv[2] ?? 20);
const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-render-"));

function time(args: string[]): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
    if (i >= 2) samples.push(ms); // two warm-up runs: file cache
  }
  return samples.sort((a, b) => a - b);
}

const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
const cases: [string, string[]][] = [
  ["node -e 0", ["-e", "0"]],
  ["gitlab-eks validate --stack dev", [cli, "validate", "--stack", "dev"]],
  ["gitlab-eks render --stack dev", [cli, "render", "--stack", "dev", "--out", out]],
];
const results = cases.map(([name, args]) => ({ name, samples: time(args) }));
const base = median(results[0].samples);
console.log(`${runs} runs each, node ${process.version}, ${os.cpus().length} CPUs`);
console.log(
  `${"command".padEnd(36)} ${"median".padStart(9)} ${"min".padStart(9)} ${"max".padStart(9)}  vs node`,
);
for (const { name, samples } of results) {
  const m = median(samples);
  console.log(
    `${name.padEnd(36)} ${m.toFixed(1).padStart(7)}ms ${samples[0].toFixed(1).padStart(7)}ms ${samples[
      samples.length - 1
    ]
      .toFixed(1)
      .padStart(7)}ms  ${(m / base).toFixed(2)}x`,
  );
}
fs.rmSync(out, { recursive: true, force: true });
