import {grpc} from 'google-gax';

/**
 * Constructor options that point an official Google Cloud client (CloudBuildClient,
 * ServicesClient, ...) at a local emulator over plaintext gRPC.
 */
export function clientOptions(port: number, host = '127.0.0.1') {
  // Credentials must come from google-gax's own grpc copy: another copy's objects are rejected.
  return {apiEndpoint: host, port, sslCreds: grpc.credentials.createInsecure()};
}
