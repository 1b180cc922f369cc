/**
 * Small helpers of the tests that drive `npm start`'s stack (LocalStack): the state a status
 * message announces, and the official Cloud Run client pointed at the stack's emulator.
 */
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import {clientOptions} from '../../local/grpc/client-options';
import {EVENT_TYPE_PREFIX} from '../../src/releases/status-event';

/** The state a status message announces (`deployed`), from its `ce-type`. */
export function announcedState(m: Pick<Message, 'attributes'>): string {
  return m.attributes['ce-type'].replace(EVENT_TYPE_PREFIX, '');
}

/** A Cloud Run v2 client of the local stack's emulator (`cloudRunEndpoint` in local.json). */
export function localServicesClient(info: {cloudRunEndpoint: string}): ServicesClient {
  const [host, port] = info.cloudRunEndpoint.split(':');
  return new ServicesClient(clientOptions(Number(port), host));
}
