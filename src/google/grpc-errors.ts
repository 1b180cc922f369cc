/**
 * gRPC errors of the Google client libraries as the project's error classes. The status codes
 * are gax's own `Status` (google.rpc.Code): every adapter, the local emulators and the tests
 * take them from there. Only adapters import this, so loading it costs nothing extra: the
 * client library they wrap has loaded google-gax already.
 */
import {Status} from 'google-gax';
import {asDropdeployError, describeError, PermanentError, RetryableError, DropdeployError} from '../errors';

export {Status};

/** Codes a redelivery may get past (google.rpc.Code's own retry guidance, plus UNKNOWN and INTERNAL). */
const RETRYABLE: ReadonlySet<Status> = new Set([
  Status.CANCELLED,
  Status.UNKNOWN,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
  Status.INTERNAL,
  Status.UNAVAILABLE,
]);

/** The gRPC status of an SDK error, if it carries one (HTTP statuses are not). */
export function grpcCode(err: unknown): Status | undefined {
  const code = (err as {code?: unknown} | null)?.code;
  return typeof code === 'number' && Status[code] !== undefined ? code : undefined;
}

/**
 * Maps any error thrown by a Google client library to the project's classes, so SDK errors
 * stop at the adapter: a gRPC status by its name, retryable or permanent; anything else as
 * {@link asDropdeployError} does.
 */
export function classify(err: unknown, what: string): DropdeployError {
  if (err instanceof DropdeployError) return err;
  const code = grpcCode(err);
  if (code === undefined) return asDropdeployError(err, what);
  const name = Status[code];
  const message = `${what} failed with ${name}: ${describeError(err)}`;
  return RETRYABLE.has(code) ? new RetryableError(message, name, {cause: err}) : new PermanentError(message, name, {cause: err});
}

/** Runs an SDK call and converts whatever it throws with {@link classify}. */
export async function wrapAsync<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classify(err, what);
  }
}
