/**
 * Status topic adapter: publishes status messages with ordering keys.
 */
import type {PubSub, Topic} from '@google-cloud/pubsub';
import {PermanentError} from '../errors';
import {wrapAsync} from './grpc-errors';
import type {StatusPublisher} from '../ports';
import {pubsubLimitProblems, type StatusMessage} from '../releases/status-event';

/** {@link StatusPublisher} on `@google-cloud/pubsub`. */
export class PubSubStatusPublisher implements StatusPublisher {
  private readonly topic: Topic;

  constructor(pubsub: PubSub, topic: string) {
    // Status events are few and a handler waits for each: a 1 ms batch window instead of the
    // client's default 10 ms keeps that wait to the round trip.
    this.topic = pubsub.topic(topic, {messageOrdering: true, batching: {maxMessages: 100, maxMilliseconds: 1}});
  }

  async publish(m: StatusMessage): Promise<void> {
    // Pub/Sub refuses these with INVALID_ARGUMENT; its emulator takes them. Refuse here, alike.
    const problems = pubsubLimitProblems(m);
    if (problems.length) throw new PermanentError(`the status event exceeds Pub/Sub's limits: ${problems.join('; ')}`, 'INVALID_ARGUMENT');
    try {
      await wrapAsync('Pub/Sub publish of a status event', () =>
        this.topic.publishMessage({data: m.data, attributes: m.attributes, orderingKey: m.orderingKey}),
      );
    } catch (err) {
      // A failed publish pauses its ordering key; resume so the redelivery can publish again.
      this.topic.resumePublishing(m.orderingKey);
      throw err;
    }
  }
}
