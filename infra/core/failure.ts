/** How a command fails with its own exit code and message lines (no stack trace). */
export class CliFailure extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode: number,
  ) {
    super(lines.join("\n"));
    this.name = "CliFailure";
  }
}
