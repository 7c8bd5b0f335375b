#!/usr/bin/env node
/**
 * The `gitlab-eks` command line. `validate` and `render` are offline: they need no credentials and must
 * not import @pulumi/* (about a second per import), so they stay fast enough for pre-commit hooks and CI.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { escapeText } from "../core/text";
import { ConfigError, formatProblem } from "../config/problems";
import { readStackFiles, STACK_NAME } from "../config/stackFiles";
import { validateStackConfig, type Validation } from "../config/validate";
import type { StackConfig } from "../config/types";
import { renderStack } from "../model/render";
import { CliFailure } from "../core/failure";
import { writeFolder } from "./writeFolder";
import { registerVerify } from "./verifyCommand";
import { registerCiCommands } from "../ci/command";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

/** Reads and validates a stack; throws a ConfigError with every problem of the files and the values. */
function validateStack(io: Io, dir: string | undefined, stack: string): Validation {
  const files = readStackFiles(path.resolve(io.cwd, dir ?? "."), stack);
  const result = validateStackConfig({ project: files.project, stack, values: files.values, env: io.env });
  const problems = [...files.problems, ...(result.ok ? [] : result.problems)];
  if (problems.length) throw new ConfigError(problems, stack);
  return result;
}

/**
 * A stack's configuration, for commands that act on it. A secure value that validation could not read
 * is refused where the command would show it (`exact`: render) or where the configuration cannot be
 * built without it.
 */
function loadConfig(io: Io, dir: string | undefined, stack: string, exact = false): StackConfig {
  const result = validateStack(io, dir, stack);
  if (result.ok && (!exact || result.unchecked.length === 0)) return result.config;
  throw new CliFailure(
    [
      `gitlab-eks: ${result.unchecked.map(escapeText).join(", ")} hold${result.unchecked.length === 1 ? "s" : ""} a secure value, ` +
        `which only the Pulumi CLI can decrypt, and this command needs it. Fix: run it where the value is plain, or use pulumi preview`,
    ],
    1,
  );
}

/** `--stack`: a stack name, or a usage error (exit 2) before any file is read. */
function stackName(value: string): string {
  if (!STACK_NAME.test(value))
    throw new InvalidArgumentError(
      `${escapeText(JSON.stringify(value))} is not a stack name (letters, digits, '-', '_' and '.', at most 100). Fix: --stack dev`,
    );
  return value;
}

const stackOption = (what = "stack name (reads Pulumi.<name>.yaml)") =>
  new Option("-s, --stack <name>", what).argParser(stackName).makeOptionMandatory();

/** package.json's version, next to dist/ both in this repository and in the packed helper. */
function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "package.json"), "utf8"));
    return String(pkg.version);
  } catch {
    return "unknown";
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("gitlab-eks")
    .description("EKS clusters with GitLab agents and isolated GitLab Runner pools, per Pulumi stack.")
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .version(version(), "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError();

  program
    .command("validate")
    .description("Check a stack's whole configuration, offline; prints `ok` or every problem, one per line.")
    .addOption(stackOption())
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action((opts: { stack: string; dir: string }) => {
      const { unchecked } = validateStack(io, opts.dir, opts.stack);
      io.out("ok");
      if (unchecked.length)
        io.err(
          `note: ${unchecked.map(escapeText).join(", ")} ${unchecked.length === 1 ? "is a secure value" : "are secure values"}, ` +
            `counted as set; the Pulumi program checks ${unchecked.length === 1 ? "it" : "them"} once decrypted`,
        );
    });

  program
    .command("render")
    .description(
      "Write what the stack would create (node pools, ...) to a folder, offline; all files or none.",
    )
    .addOption(stackOption())
    .requiredOption("-o, --out <dir>", "folder to write into (created if missing)")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action((opts: { stack: string; out: string; dir: string }) => {
      const config = loadConfig(io, opts.dir, opts.stack, true);
      const files = renderStack(config);
      writeFolder(path.resolve(io.cwd, opts.out), files, opts.out);
      for (const name of Object.keys(files)) io.out(escapeText(path.join(opts.out, name)));
    });

  program
    .command("doctor")
    .description(
      "Check the live GitLab for this stack: reachable, token valid with its scopes, role, KAS, version skew.",
    )
    .addOption(stackOption())
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action(async (opts: { stack: string; dir: string }) => {
      const config = loadConfig(io, opts.dir, opts.stack);
      const { doctor } = await import("./doctor");
      const code = await doctor(config, io.env, io.out);
      if (code !== 0) throw new CommanderError(code, "gitlab-eks.doctor", "checks failed");
    });

  registerVerify(program, io, loadConfig, stackOption);
  registerCiCommands(program, io);

  return program;
}

/** Runs the CLI; returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError)
      return e.code === "gitlab-eks.doctor" ? e.exitCode : e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliFailure) {
      for (const line of e.lines) io.err(line);
      return e.exitCode;
    }
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.err(formatProblem(p));
      return 1;
    }
    io.err(`gitlab-eks: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    if (io.env.GITLAB_EKS_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return 70;
  }
}

if (require.main === module) {
  run(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    cwd: process.cwd(),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
  });
}
