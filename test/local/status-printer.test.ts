import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {formatStatus} from '../../local/status-printer';

const TIME = '2026-12-02T12:00:01.000Z';

function message(state: string, data: unknown): {attributes: Record<string, string>; data: Buffer} {
  return {
    attributes: {'ce-type': `dev.dropdeploy.release.v1.${state}`, 'ce-time': TIME, 'ce-subject': 'services/hello/releases/3'},
    data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
  };
}

describe('status printer', () => {
  const cases: {name: string; state: string; data: unknown; line: string}[] = [
    {
      name: 'deployed: URL and revision',
      state: 'deployed',
      data: {service: 'hello', release: 3, url: 'http://127.0.0.1:9000', revision: 'hello-00003'},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'deployed'.padEnd(13)} http://127.0.0.1:9000  (revision hello-00003)`,
    },
    {
      name: 'building: build and log',
      state: 'building',
      data: {service: 'hello', release: 3, buildId: 'b1', buildLogUrl: 'http://log'},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'building'.padEnd(13)} build b1  log: http://log`,
    },
    {
      name: 'superseded: which release won',
      state: 'superseded',
      data: {service: 'hello', release: 3, supersededBy: 4},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'superseded'.padEnd(13)} v4 was deployed first`,
    },
    {
      name: 'verifying: the tag URL being checked',
      state: 'verifying',
      data: {service: 'hello', release: 3, revision: 'hello-00003', traffic: 0, rollout: {tagUrl: 'http://127.0.0.1:9001'}},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'verifying'.padEnd(13)} revision hello-00003, no traffic yet: checking http://127.0.0.1:9001`,
    },
    {
      name: 'rolling_out: the step',
      state: 'rolling_out',
      data: {service: 'hello', release: 3, revision: 'hello-00003', traffic: 10},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'rolling_out'.padEnd(13)} 10% of traffic on revision hello-00003`,
    },
    {
      name: 'rolled_back: the reason',
      state: 'rolled_back',
      data: {service: 'hello', release: 3, error: {code: 'CHECK_FAILED', message: 'the health check failed'}},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'rolled_back'.padEnd(13)} the health check failed`,
    },
    {
      name: 'failed: the error message',
      state: 'build_failed',
      data: {service: 'hello', release: 3, error: {code: 'BUILD_FAILED', message: 'npm install failed'}},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'build_failed'.padEnd(13)} npm install failed`,
    },
    {
      name: 'non-text fields are not printed as [object Object]',
      state: 'deployed',
      data: {service: 'hello', release: 3, url: {x: 1}, revision: ['r']},
      line: `12:00:01  ${'hello v3'.padEnd(24)} ${'deployed'.padEnd(13)}   (revision ?)`,
    },
    {
      name: 'data that is not JSON: the subject',
      state: 'accepted',
      data: 'not json',
      line: `12:00:01  ${'services/hello/releases/3'.padEnd(24)} accepted`,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(formatStatus(message(c.state, c.data), false), c.line));

  it('colours the state when asked', () => {
    const green = '\u001b[32m',
      reset = '\u001b[0m';
    assert.ok(formatStatus(message('deployed', {service: 'hello', release: 3}), true).includes(`${green}deployed     ${reset}`));
  });
});
