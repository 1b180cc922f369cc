import {grpc, type ClientOptions} from 'google-gax';
import {OAuth2Client} from 'google-auth-library';

/**
 * Constructor options that point an official Google Cloud client (CloudBuildClient,
 * ServicesClient, ...) at a local emulator over plaintext gRPC.
 */
export function clientOptions(port: number, host = '127.0.0.1') {
  // Credentials must come from google-gax's own grpc copy: another copy's objects are rejected.
  return {apiEndpoint: host, port, sslCreds: grpc.credentials.createInsecure()};
}

/**
 * Constructor options that point an official client at a local emulator's REST server in the
 * client's REST mode (`fallback: true`: HTTP/1.1 + JSON), as gcloud and browsers talk to Google.
 */
export function restClientOptions(port: number, host = '127.0.0.1'): ClientOptions {
  // REST mode sends through the auth client's fetch; a fixed token is all the local stack wants (it checks none).
  const authClient = new OAuth2Client();
  authClient.setCredentials({access_token: 'local-stack'});
  // google-gax has its own copy of google-auth-library: the same class, typed apart.
  return {fallback: true, apiEndpoint: host, port, protocol: 'http', authClient: authClient as unknown as ClientOptions['authClient']};
}
