import {Status} from 'google-gax';

/** An error that the emulator answers with a specific gRPC status code and message. */
export class RpcError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Shorthand for the errors that handlers throw most, named like the gRPC codes. */
export const rpc = {
  invalidArgument: (message: string) => new RpcError(Status.INVALID_ARGUMENT, message),
  notFound: (message: string) => new RpcError(Status.NOT_FOUND, message),
  alreadyExists: (message: string) => new RpcError(Status.ALREADY_EXISTS, message),
  failedPrecondition: (message: string) => new RpcError(Status.FAILED_PRECONDITION, message),
  permissionDenied: (message: string) => new RpcError(Status.PERMISSION_DENIED, message),
  aborted: (message: string) => new RpcError(Status.ABORTED, message),
};
