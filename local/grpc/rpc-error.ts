import {status} from '@grpc/grpc-js';

/** An error that the emulator answers with a specific gRPC status code and message. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Shorthand for the errors that handlers throw most, named like the gRPC codes. */
export const rpc = {
  invalidArgument: (message: string) => new RpcError(status.INVALID_ARGUMENT, message),
  notFound: (message: string) => new RpcError(status.NOT_FOUND, message),
  alreadyExists: (message: string) => new RpcError(status.ALREADY_EXISTS, message),
  failedPrecondition: (message: string) => new RpcError(status.FAILED_PRECONDITION, message),
  permissionDenied: (message: string) => new RpcError(status.PERMISSION_DENIED, message),
  aborted: (message: string) => new RpcError(status.ABORTED, message),
};
