/* global process, console */
// Prints, one per line, the node_modules folders (relative to the repository root) that the given
// packages need at run time: the packages themselves and every `dependencies`/`optionalDependencies`
// entry under them, resolved the way Node resolves them (nearest node_modules up the tree).
// Used by scripts/pack-helper to bundle the helper's dependencies into its tarball.
import * as fs from "node:fs";
import * as path from "node:path";

const root = process.cwd();
const seen = new Set();
const queue = process.argv.slice(2).map((name) => ({ name, from: root }));

function locate(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === path.dirname(dir)) return undefined;
  }
}

while (queue.length) {
  const { name, from, optional } = queue.shift();
  const dir = locate(name, from);
  if (!dir) {
    if (optional) continue;
    console.error(
      `bundle-closure: ${name} (needed by ${path.relative(root, from) || "the helper"}) is not installed. Fix: run npm ci first.`,
    );
    process.exit(1);
  }
  const rel = path.relative(root, dir);
  if (seen.has(rel)) continue;
  seen.add(rel);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir });
  for (const dep of Object.keys(pkg.optionalDependencies ?? {}))
    queue.push({ name: dep, from: dir, optional: true });
}
for (const rel of [...seen].sort()) console.log(rel);
