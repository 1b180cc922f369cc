/**
 * A rejected upload with the longest object name Cloud Storage allows still publishes its
 * status event within Pub/Sub's limits. The Pub/Sub emulator does not enforce those limits (it
 * took a 5,000-byte attribute value and ordering key when tried), so the byte lengths of what a
 * subscriber received are asserted here.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {Stack} from './stack';

describe('status events within Pub/Sub limits, through the emulator', {timeout: 60_000}, () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start();
  });
  after(async () => {
    await stack?.stop();
  });

  for (const [name, object] of [
    ['2-byte', 'É'.repeat(508) + '/v1.zip'],
    ['4-byte', '😀'.repeat(254) + '/v1.zip'],
  ] as const) {
    it(`a 1,024-byte object name of ${name} characters: the rejected event arrives, every limit kept`, async () => {
      assert.ok(Buffer.byteLength(object) > 1010 && Buffer.byteLength(object) <= 1024);
      assert.equal(await stack.upload(object, '7'), 204);
      const ev = await stack.waitFor('the rejected event', () =>
        stack.events.find((e) => e.type.endsWith('.rejected') && (e.data as {source?: {object?: string}}).source?.object === object),
      );
      for (const v of [ev.id, ev.subject, ev.orderingKey])
        assert.ok(Buffer.byteLength(v) <= 1024, `${Buffer.byteLength(v)} bytes: ${v.slice(0, 40)}…`);
    });
  }
});
