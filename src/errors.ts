/**
 * The project's error classes. Every error says whether the platform should redeliver the
 * event (retryable) or whether it is recorded and acknowledged (permanent).
 */

/** Base class: an error a person can act on, with a stable machine-readable code. */
export class DropdeployError extends Error {
  constructor(
    message: string,
    /** A short UPPER_SNAKE code, recorded on the release and in status events. */
    readonly code: string,
    /** True when a redelivery of the same event may succeed. */
    readonly retryable: boolean,
    options?: {cause?: unknown},
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure that will go away on its own: rethrown so the platform redelivers the event. */
export class RetryableError extends DropdeployError {
  constructor(message: string, code = 'UNAVAILABLE', options?: {cause?: unknown}) {
    super(message, code, true, options);
  }
}

/** A failure no redelivery can fix: recorded on the release, published, acknowledged. */
export class PermanentError extends DropdeployError {
  constructor(message: string, code = 'FAILED_PRECONDITION', options?: {cause?: unknown}) {
    super(message, code, false, options);
  }
}

/** Raised when the environment does not describe a usable configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`dropdeploy configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** gRPC status codes by number (google.rpc.Code). */
export const GRPC_CODE_NAMES: Record<number, string> = {
  0: 'OK', 1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION', 10: 'ABORTED', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED',
  13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};

const RETRYABLE_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);
const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH']);

/** A message for any thrown value, even one without a prototype or a usable toString. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

/** The numeric gRPC code (0–16) of an SDK error, if it carries one (HTTP statuses are not). */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as {code?: unknown} | null)?.code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16 ? code : undefined;
}

/**
 * Maps any error thrown by a Google client library to the project's classes. Adapters call
 * this so SDK errors stop at the adapter. Unknown errors count as retryable: redelivering a
 * message that could have succeeded is cheaper than losing it.
 */
export function classify(err: unknown, what: string): DropdeployError {
  if (err instanceof DropdeployError) return err;
  const code = grpcCode(err);
  const detail = describeError(err);
  if (code !== undefined) {
    const name = GRPC_CODE_NAMES[code] ?? `CODE_${code}`;
    const message = `${what} failed with ${name}: ${detail}`;
    return RETRYABLE_CODES.has(code)
      ? new RetryableError(message, name, {cause: err})
      : new PermanentError(message, name, {cause: err});
  }
  const errno = (err as {code?: unknown} | null)?.code;
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) {
    return new RetryableError(`${what} failed: network error ${errno}: ${detail}`, 'UNAVAILABLE', {cause: err});
  }
  return new RetryableError(`${what} failed: ${detail}`, 'UNKNOWN', {cause: err});
}

/** Runs an SDK call and converts whatever it throws with {@link classify}. */
export async function wrapAsync<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classify(err, what);
  }
}
