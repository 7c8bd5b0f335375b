/**
 * Runs one real `pulumi` command on a Node.js program, with @pulumi/pulumi's own language runtime server as
 * the program's host:
 *
 *   node dist/test/support/real-pulumi-host.js PULUMI_BINARY PROGRAM_JS -- ARGS...
 *
 * This is how Automation API runs inline programs (@pulumi/pulumi/automation/stack.js): a gRPC
 * LanguageRuntime server in this process, and the CLI started with `--client=127.0.0.1:PORT`, so the engine
 * asks this process to run the program instead of starting `pulumi-language-nodejs` (which cannot be built
 * here; see docs/real-engine.md). The program module is required inside the run, as the real host's
 * `run/index.js` does, and its exports become the stack's outputs. The CLI's stdout, stderr and exit code
 * pass through unchanged, so what callers read is the real CLI's output.
 *
 * A separate process per command: the program runs in this process, with the SDK's process-wide state.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as langrpc from "@pulumi/pulumi/proto/language_grpc_pb";

// Automation API's language runtime server; @pulumi/pulumi declares no types for it (an internal module).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageServer } = require("@pulumi/pulumi/automation/server") as {
  LanguageServer: new (program: () => Promise<Record<string, unknown>>) => object;
};

// @grpc/grpc-js is @pulumi/pulumi's dependency: take the copy it uses.
const grpc = createRequire(require.resolve("@pulumi/pulumi"))(
  "@grpc/grpc-js",
) as typeof import("@grpc/grpc-js");

async function main(argv: string[]): Promise<number> {
  const sep = argv.indexOf("--");
  if (sep !== 2) throw new Error("usage: real-pulumi-host PULUMI_BINARY PROGRAM_JS -- ARGS...");
  const [binary, program] = argv;
  const args = argv.slice(sep + 1);
  const programPath = path.resolve(program);

  // `up` runs the program twice in this process (preview, then update): each run loads the program afresh,
  // as each run of the real host is a new process. Packages (node_modules, with @pulumi/pulumi's runtime
  // state) stay loaded.
  const fresh = () => {
    for (const key of Object.keys(require.cache)) {
      if (!key.includes(`${path.sep}node_modules${path.sep}`) && key !== __filename)
        delete require.cache[key];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded afresh at each run
    return { ...(require(programPath) as Record<string, unknown>) };
  };
  const languageServer = new LanguageServer(async () => fresh());
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(langrpc.LanguageRuntimeService, languageServer as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(binary, [...args, `--client=127.0.0.1:${port}`], { stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  server.forceShutdown();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`real-pulumi-host: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
