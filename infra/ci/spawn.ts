/**
 * Runs a program for a job (pulumi, the install command) with an argument array, never a shell string
 * built from inputs, and streams its output to the job log as it comes, one line at a time through the
 * job's mask: a long `pulumi up` shows its progress while it runs, and a token it prints is "[secret]".
 * A line is written when it ends; a partial line is written when the stream ends. SIGINT and SIGTERM
 * sent to the helper while the program runs (a cancelled job) are passed on to it, so pulumi can stop
 * gracefully and release the stack's lock; the helper then ends with the program's status.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { Mask } from "./mask";

export interface SpawnIo {
  /** One line, without its newline, to the job log's stdout / stderr. */
  out: (line: string) => void;
  err: (line: string) => void;
  mask: Mask;
}

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Write stdout to this file (byte for byte, unmasked: pulumi's --json) instead of the log. */
  stdoutFile?: string;
}

export interface SpawnResult {
  /** The exit status; a signal counts as 128 + its number, as a shell reports it. */
  status: number;
  /** Set when the program could not be started (not found, not executable). */
  startError?: string;
}

const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** Splits a byte stream into lines and hands each, masked, to `write`. */
function lineWriter(write: (line: string) => void, mask: Mask) {
  let rest = "";
  return {
    data(chunk: Buffer | string) {
      const text = rest + chunk.toString();
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) write(mask(line.replace(/\r$/, "")));
    },
    end() {
      if (rest !== "") write(mask(rest));
      rest = "";
    },
  };
}

export function runStreaming(
  io: SpawnIo,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const file = options.stdoutFile ? fs.createWriteStream(options.stdoutFile) : undefined;
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = lineWriter(io.out, io.mask);
    const err = lineWriter(io.err, io.mask);
    if (file) child.stdout.pipe(file, { end: false });
    else child.stdout.on("data", (d: Buffer) => out.data(d));
    child.stderr.on("data", (d: Buffer) => err.data(d));
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED) process.on(signal, forward);
    let startError: string | undefined;
    child.on("error", (e: NodeJS.ErrnoException) => {
      startError = e.code === "ENOENT" ? `${command}: not found on PATH` : `${command}: ${e.message}`;
    });
    child.on("close", (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      out.end();
      err.end();
      const status = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 1);
      const done = () => resolve({ status: startError ? 127 : status, startError });
      if (file) file.end(done);
      else done();
    });
  });
}
