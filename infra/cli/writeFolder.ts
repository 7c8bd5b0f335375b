/**
 * Writes a set of files into a folder, all or nothing: into a temporary folder next to it first, then
 * moved into place. A target that cannot be a folder (`--out` names a file, a path under a file, a name
 * too long) is a usage error (exit 2); a file that cannot be written is exit 1. Either way nothing of
 * this run is left behind.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { escapeText } from "../core/text";
import { CliFailure } from "../core/failure";

const usage = (line: string) => new CliFailure([`gitlab-eks: ${line}`], 2);
const failure = (line: string) => new CliFailure([`gitlab-eks: ${line} Nothing was written.`], 1);

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** `out` as a folder we may write into: existing or not, but not a file, not under a file. */
function checkTarget(out: string, shown: string): boolean {
  const name = escapeText(shown);
  try {
    if (!fs.statSync(out).isDirectory())
      throw usage(`--out ${name} is a file, not a folder. Fix: --out rendered (a folder name)`);
    return true;
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    if (code(e) === "ENOENT") return false;
    if (code(e) === "ENOTDIR")
      throw usage(`--out ${name} lies under a file, not a folder. Fix: --out rendered (a folder name)`);
    if (code(e) === "ENAMETOOLONG")
      throw usage(`--out is too long a path for this file system. Fix: a shorter --out`);
    throw failure(`cannot use --out ${name}: ${code(e) ?? String(e)}.`);
  }
}

export function writeFolder(out: string, files: Record<string, string>, shown: string): void {
  const exists = checkTarget(out, shown);
  if (path.basename(out).length > 255)
    throw usage(
      `--out's last part is ${path.basename(out).length} characters; file systems take 255. Fix: a shorter --out`,
    );
  if (exists)
    for (const name of Object.keys(files)) {
      const target = path.join(out, name);
      if (fs.existsSync(target) && fs.statSync(target).isDirectory())
        throw failure(
          `cannot write ${escapeText(path.join(shown, name))}: a folder of that name is in the way. Fix: remove it, or choose another --out.`,
        );
    }

  const parent = path.dirname(out);
  let createdParent: string | undefined;
  let temp: string | undefined;
  try {
    createdParent = fs.mkdirSync(parent, { recursive: true });
    temp = fs.mkdtempSync(path.join(parent, ".gitlab-eks-render-"));
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(temp, name)), { recursive: true });
      fs.writeFileSync(path.join(temp, name), content);
    }
    if (!exists) {
      fs.renameSync(temp, out);
      temp = undefined;
    } else {
      // Every file is written; moving each into place is a rename within one file system.
      for (const name of Object.keys(files)) {
        fs.mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
        fs.renameSync(path.join(temp, name), path.join(out, name));
      }
    }
  } catch (e) {
    if (temp) fs.rmSync(temp, { recursive: true, force: true });
    if (createdParent) fs.rmSync(createdParent, { recursive: true, force: true });
    if (code(e) === "ENAMETOOLONG")
      throw usage(`--out is too long a path for this file system. Fix: a shorter --out`);
    throw failure(
      `cannot write into ${escapeText(shown)}: ${code(e) ?? (e instanceof Error ? e.message : String(e))}.`,
    );
  } finally {
    if (temp && exists) fs.rmSync(temp, { recursive: true, force: true });
  }
}
