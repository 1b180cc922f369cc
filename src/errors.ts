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

/**
 * Any thrown value as the project's error class, for errors that carry no gRPC status (the
 * gRPC-aware `classify` of `src/google/grpc-errors.ts` falls back to this). Ours stay as they
 * are; a network failure is retryable; so is anything unknown: redelivering a message that
 * could have succeeded is cheaper than losing it.
 */
export function asDropdeployError(err: unknown, what: string): DropdeployError {
  if (err instanceof DropdeployError) return err;
  const detail = describeError(err);
  const errno = (err as {code?: unknown} | null)?.code;
  if (typeof errno === 'string' && NETWORK_ERRNOS.has(errno)) {
    return new RetryableError(`${what} failed: network error ${errno}: ${detail}`, 'UNAVAILABLE', {cause: err});
  }
  return new RetryableError(`${what} failed: ${detail}`, 'UNKNOWN', {cause: err});
}
