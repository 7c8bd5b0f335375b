#!/usr/bin/env node
/**
 * The `gitlab-eks` command line. `validate` and `render` are offline: they need no credentials and must
 * not import @pulumi/* (about a second per import), so they stay fast enough for pre-commit hooks and CI.
 */
import { Command, CommanderError } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, formatProblem } from "../config/problems";
import { readStackFiles } from "../config/stackFiles";
import { validateStackConfig } from "../config/validate";
import type { StackConfig } from "../config/types";
import { renderStack } from "../model/render";
import { CliFailure } from "./failure";
import { registerVerify } from "./verifyCommand";
import { registerCiCommands } from "../ci/command";

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

function loadConfig(io: Io, dir: string | undefined, stack: string): StackConfig {
  const files = readStackFiles(path.resolve(io.cwd, dir ?? "."), stack);
  const result = validateStackConfig({ project: files.project, stack, values: files.values, env: io.env });
  if (!result.ok) throw new ConfigError(result.problems, stack);
  return result.config;
}

export function buildProgram(io: Io): Command {
  const program = new Command("gitlab-eks")
    .description("EKS clusters with GitLab agents and isolated GitLab Runner pools, per Pulumi stack.")
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride()
    .showHelpAfterError();

  program
    .command("validate")
    .description("Check a stack's whole configuration, offline; prints `ok` or every problem, one per line.")
    .requiredOption("-s, --stack <name>", "stack name (reads Pulumi.<name>.yaml)")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action((opts: { stack: string; dir: string }) => {
      loadConfig(io, opts.dir, opts.stack);
      io.out("ok");
    });

  program
    .command("render")
    .description("Write what the stack would create (node pools, ...) to a folder, offline.")
    .requiredOption("-s, --stack <name>", "stack name (reads Pulumi.<name>.yaml)")
    .requiredOption("-o, --out <dir>", "folder to write into (created if missing)")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action((opts: { stack: string; out: string; dir: string }) => {
      const config = loadConfig(io, opts.dir, opts.stack);
      const out = path.resolve(io.cwd, opts.out);
      fs.mkdirSync(out, { recursive: true });
      for (const [name, content] of Object.entries(renderStack(config))) {
        fs.mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
        fs.writeFileSync(path.join(out, name), content);
        io.out(path.join(opts.out, name));
      }
    });

  program
    .command("doctor")
    .description(
      "Check the live GitLab for this stack: reachable, token valid with its scopes, role, KAS, version skew.",
    )
    .requiredOption("-s, --stack <name>", "stack name (reads Pulumi.<name>.yaml)")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action(async (opts: { stack: string; dir: string }) => {
      const config = loadConfig(io, opts.dir, opts.stack);
      const { doctor } = await import("./doctor");
      const code = await doctor(config, io.env, io.out);
      if (code !== 0) throw new CommanderError(code, "gitlab-eks.doctor", "checks failed");
    });

  registerVerify(program, io, loadConfig);
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
