/** retryWhileBusy over a fake clock: it polls, and gives the event back within its bound. */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {newCtx} from '../../src/controller/deps';
import {retryWhileBusy} from '../../src/controller/wait';
import {RetryableError} from '../../src/errors';
import {fakeDeps} from './fakes';

describe('retryWhileBusy', () => {
  it('returns what the attempt finds once it finds it, polling every 250 ms', async () => {
    const f = fakeDeps();
    let calls = 0;
    const got = await retryWhileBusy(newCtx(f.deps, f.log), 'the build', () => Promise.resolve(++calls === 4 ? 'done' : undefined));
    assert.equal(got, 'done');
    assert.deepEqual(f.clock.slept, [250, 250, 250]);
  });

  // The last: the handler deadline (10 s less its 2 s reserve) comes before the 9 s wait ends.
  for (const [waitSeconds, timeout, attempts] of [
    ['2', '9', 9],
    ['0', '9', 1],
    ['9', '10', 33],
  ] as const) {
    it(`DROPDEPLOY_WAIT_SECONDS=${waitSeconds}, function timeout ${timeout}s: BUSY after ${attempts} attempts`, async () => {
      const f = fakeDeps(
        {},
        {DROPDEPLOY_WAIT_SECONDS: waitSeconds, DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: timeout, DROPDEPLOY_LEASE_SECONDS: '60'},
      );
      let calls = 0;
      await assert.rejects(
        retryWhileBusy(newCtx(f.deps, f.log), 'the deploy of hello v2', () => {
          calls++;
          return Promise.resolve(undefined);
        }),
        (e: unknown) =>
          e instanceof RetryableError &&
          e.code === 'BUSY' &&
          e.message ===
            `the deploy of hello v2 is still in progress in another delivery after ${waitSeconds}s; an event is redelivered by the platform, a request can be retried`,
      );
      assert.equal(calls, attempts);
    });
  }
});
