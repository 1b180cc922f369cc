/**
 * The CLI's one error type: a message a person can act on and the exit code it ends with.
 * Exit codes: 0 success (for redeploy/rollback: the release is deployed), 1 failure,
 * 2 usage error (the usage line is printed with it).
 */

/** Exit code of a usage error. */
export const EXIT_USAGE = 2;
/** Exit code of every other failure. */
export const EXIT_FAILURE = 1;

/** An error that ends the command with `exitCode`, printing `message`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

/** A usage error: bad command line; `usage` is the line of the command it concerns. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message, EXIT_USAGE);
  }
}

/** An answer of the API that is an error (`{"error": {code, status, message}}`). */
export class ApiCallError extends CliError {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly status: string,
  ) {
    super(message);
  }
}
