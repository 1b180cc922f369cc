/**
 * The status publisher against the official Pub/Sub emulator. The emulator takes attributes and
 * ordering keys of any size (a 5,000-byte value was accepted when tried), Pub/Sub does not: the
 * publisher refuses what Pub/Sub would, so the emulator cannot hide it.
 */
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {after, before, describe, it} from 'node:test';
import {PubSub, type Subscription} from '@google-cloud/pubsub';
import {PermanentError} from '../../../src/errors';
import {PubSubStatusPublisher} from '../../../src/google/pubsub-publisher';
import {rejectedObjectMessage} from '../../../src/releases/status-event';
import {requireEmulators} from '../stack';

describe('PubSubStatusPublisher (Pub/Sub emulator)', () => {
  let pubsub: PubSub;
  let publisher: PubSubStatusPublisher;
  let sub: Subscription;
  const received: Array<{attributes: Record<string, string>; orderingKey?: string}> = [];

  before(async () => {
    requireEmulators();
    pubsub = new PubSub({projectId: `pub-${randomUUID().slice(0, 8)}`});
    const [topic] = await pubsub.createTopic('dropdeploy-status');
    [sub] = await topic.createSubscription('observer', {enableMessageOrdering: true});
    sub.on('message', (m) => {
      received.push({attributes: m.attributes, orderingKey: m.orderingKey});
      m.ack();
    });
    publisher = new PubSubStatusPublisher(pubsub, 'dropdeploy-status');
  });
  after(async () => {
    await sub?.close();
    await pubsub?.close();
  });

  it('publishes a rejected event for a 1,024-byte object name, within the limits', async () => {
    const object = 'ü'.repeat(508) + '/x.zip';
    await publisher.publish(
      rejectedObjectMessage(
        {bucket: 'dd-sources', object, generation: '3'},
        {code: 'INVALID_SERVICE_NAME', message: 'm'},
        {projectId: 'p-123', region: 'europe-west1', now: new Date()},
      ),
    );
    for (let i = 0; i < 100 && !received.length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 1);
    for (const v of [...Object.values(received[0].attributes), received[0].orderingKey ?? '']) assert.ok(Buffer.byteLength(v) <= 1024);
  });

  it('refuses, as permanent, a message Pub/Sub would refuse', async () => {
    await assert.rejects(
      publisher.publish({data: Buffer.from('{}'), attributes: {'ce-subject': 'x'.repeat(1025)}, orderingKey: 'k'}),
      (e: unknown) => e instanceof PermanentError && /attribute ce-subject is 1025 bytes \(at most 1024\)/.test(e.message),
    );
    await assert.rejects(
      publisher.publish({data: Buffer.from('{}'), attributes: {}, orderingKey: 'k'.repeat(2000)}),
      (e: unknown) => e instanceof PermanentError && /ordering key is 2000 bytes/.test(e.message),
    );
  });
});
