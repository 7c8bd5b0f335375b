/**
 * Per test file: wall time and CPU time (user + system, the file's mocha process and its children),
 * each file run alone in its own mocha process, slowest first. CPU time hardly moves on a busy machine,
 * so compare CPU seconds between two versions; wall time also counts waiting for other processes.
 *   npm run build && node dist/scripts/bench-tests.js [FILTER]
 * FILTER (a substring of the file name) runs only the matching files. CPU figures need GNU time
 * (/usr/bin/time); without it the CPU column reads "-".
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(__dirname, "..", "..");
const testDir = path.join(root, "dist", "test");
const filter = process.argv[2] ?? "";
const mocha = path.join(root, "node_modules", "mocha", "bin", "mocha.js");
const gnuTime = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

const files = fs
  .readdirSync(testDir)
  .filter((f) => f.endsWith(".test.js") && f.includes(filter))
  .sort();
if (files.length === 0)
  throw new Error(`no dist/test/*.test.js matches "${filter}": run npm run build first`);

interface Row {
  file: string;
  wall: number;
  cpu?: number;
  tests: string;
  ok: boolean;
}
const rows: Row[] = [];
const timeFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bench-tests-")), "time");
for (const file of files) {
  const args = [mocha, "--no-config", "--timeout", "600000", "--enable-source-maps", "--reporter", "dot"];
  args.push(path.join(testDir, file));
  const cmd = gnuTime ? gnuTime : process.execPath;
  const cmdArgs = gnuTime ? ["-f", "%U %S", "-o", timeFile, process.execPath, ...args] : args;
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  let cpu: number | undefined;
  if (gnuTime && fs.existsSync(timeFile)) {
    const [user, sys] = fs.readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number);
    cpu = user + sys;
  }
  const passing = /(\d+) passing/.exec(r.stdout)?.[1] ?? "0";
  const failing = /(\d+) failing/.exec(r.stdout)?.[1];
  const row = {
    file,
    wall,
    cpu,
    tests: failing ? `${passing}+${failing} failed` : passing,
    ok: r.status === 0,
  };
  rows.push(row);
  process.stderr.write(`${file}: ${wall.toFixed(1)} s wall, ${cpu?.toFixed(1) ?? "-"} s CPU\n`);
}

rows.sort((a, b) => b.wall - a.wall);
const total = (k: "wall" | "cpu") => rows.reduce((s, r) => s + (r[k] ?? 0), 0);
console.log(
  `${files.length} files, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`,
);
console.log(`${"file".padEnd(44)} ${"wall s".padStart(8)} ${"CPU s".padStart(8)} ${"tests".padStart(8)}`);
for (const r of rows) {
  const cpu = r.cpu === undefined ? "-" : r.cpu.toFixed(1);
  console.log(
    `${r.file.padEnd(44)} ${r.wall.toFixed(1).padStart(8)} ${cpu.padStart(8)} ${r.tests.padStart(8)}${r.ok ? "" : "  FAILED"}`,
  );
}
console.log(
  `${"total".padEnd(44)} ${total("wall").toFixed(1).padStart(8)} ${total("cpu").toFixed(1).padStart(8)}`,
);
if (rows.some((r) => !r.ok)) process.exitCode = 1;
