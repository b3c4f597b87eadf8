/**
 * An error the CLI reports as `apsysfs: <what>: <why>` followed by a hint, with `exitCode`.
 */
export class CliError extends Error {
  constructor(
    readonly what: string,
    readonly why: string,
    readonly exitCode = 1,
  ) {
    super(`${what}: ${why}`);
    this.name = 'CliError';
  }
}

/** Bad command line: exit code 2, as getopt-style tools do. */
export class UsageError extends CliError {
  constructor(what: string, why: string) {
    super(what, why, 2);
    this.name = 'UsageError';
  }
}
