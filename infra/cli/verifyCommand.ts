/** Registers `gitlab-eks verify`; the command itself (verify.ts) is loaded when it runs. */
import type { Command, Option } from "commander";
import type { StackConfig } from "../config/types";
import type { VerifyIo } from "./verify";

export function registerVerify(
  program: Command,
  io: VerifyIo,
  loadConfig: (io: VerifyIo, dir: string | undefined, stack: string) => StackConfig,
  stackOption: (what: string) => Option,
): void {
  program
    .command("verify")
    .description(
      "Check a live cluster: every pod on a runner node is a runner manager or job pod (DaemonSets aside), and every runner pod is where it belongs; with the autoscaler, that it runs on a system node and sees the runner pool's node group.",
    )
    .addOption(stackOption("stack name (reads Pulumi.<name>.yaml, and the stack's kubeconfig output)"))
    .option("-k, --kubeconfig <file>", "use this kubeconfig instead of the stack's output")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("-C, --dir <path>", "Pulumi project folder", ".")
    .action(async (opts: { stack: string; dir: string; kubeconfig?: string; context?: string }) => {
      const config = loadConfig(io, opts.dir, opts.stack);
      // Loaded on use, so validate and render keep their small import graph.
      const { verify } = await import("./verify");
      await verify(io, config, opts);
    });
}
