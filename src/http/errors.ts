/**
 * API errors in the shape Google APIs answer: `{"error": {"code", "status", "message"}}`.
 */
import {describeError, DropdeployError} from '../errors';

/** An error answered to the caller. */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** 400 naming the field. */
  static invalid(field: string, problem: string): ApiError {
    return new ApiError(400, 'INVALID_ARGUMENT', `${field}: ${problem}`);
  }

  /** 404. */
  static notFound(message: string): ApiError {
    return new ApiError(404, 'NOT_FOUND', message);
  }

  /** The JSON body. */
  body(): {error: {code: number; status: string; message: string}} {
    return {error: {code: this.httpStatus, status: this.status, message: this.message}};
  }
}

const HTTP_OF_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
};

/** Maps an error from the controller to the answer: its code for permanent ones, 503 (retry) for transient ones. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DropdeployError && !err.retryable) {
    const http = HTTP_OF_CODE[err.code] ?? 500;
    return new ApiError(http, http === 500 ? 'INTERNAL' : err.code, err.message);
  }
  const message = describeError(err);
  return new ApiError(
    503,
    'UNAVAILABLE',
    `${message}; retry the request with the same Idempotency-Key header (see the answer's Idempotency-Key) to resume it`,
    {'retry-after': '5'},
  );
}
