import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {protos} from '@google-cloud/cloudbuild';
import {BUILD_STATUS_BY_NUMBER, isTerminalBuildStatus} from '../../src/releases/build-statuses';
import {isTerminalState, STATES} from '../../src/releases/states';

describe('release states', () => {
  const cases: Array<{state: string; terminal: boolean}> = [
    {state: 'accepted', terminal: false},
    {state: 'building', terminal: false},
    {state: 'deploying', terminal: false},
    {state: 'verifying', terminal: false},
    {state: 'rolling_out', terminal: false},
    {state: 'deployed', terminal: true},
    {state: 'build_failed', terminal: true},
    {state: 'deploy_failed', terminal: true},
    {state: 'superseded', terminal: true},
    {state: 'rejected', terminal: true},
    {state: 'rolled_back', terminal: true},
    // A state a newer controller may send: a client keeps waiting rather than stop early.
    {state: 'promoting', terminal: false},
    {state: '', terminal: false},
  ];
  for (const c of cases)
    it(`${c.state || '(empty)'} ${c.terminal ? 'ends' : 'does not end'} a release`, () =>
      assert.equal(isTerminalState(c.state), c.terminal));
  it('the table covers every state', () =>
    assert.deepEqual(
      cases.map((c) => c.state).filter((s) => (STATES as readonly string[]).includes(s)),
      [...STATES],
    ));
});

describe('Cloud Build statuses', () => {
  it('are the client library proto enum, number for number', () => {
    const proto = protos.google.devtools.cloudbuild.v1.Build.Status as unknown as Record<string, number>;
    const fromProto = Object.fromEntries(
      Object.entries(proto)
        .filter(([, n]) => typeof n === 'number')
        .map(([name, n]) => [n, name]),
    );
    assert.deepEqual({...BUILD_STATUS_BY_NUMBER}, fromProto);
  });
  const cases: Array<{status: string | undefined; terminal: boolean}> = [
    {status: 'SUCCESS', terminal: true},
    {status: 'FAILURE', terminal: true},
    {status: 'INTERNAL_ERROR', terminal: true},
    {status: 'TIMEOUT', terminal: true},
    {status: 'CANCELLED', terminal: true},
    {status: 'EXPIRED', terminal: true},
    {status: 'STATUS_UNKNOWN', terminal: false},
    {status: 'PENDING', terminal: false},
    {status: 'QUEUED', terminal: false},
    {status: 'WORKING', terminal: false},
    {status: undefined, terminal: false},
  ];
  for (const c of cases)
    it(`${c.status ?? '(missing)'} is ${c.terminal ? '' : 'not '}terminal`, () =>
      assert.equal(isTerminalBuildStatus(c.status), c.terminal));
  it('the table covers every status', () =>
    assert.deepEqual(
      cases
        .map((c) => c.status)
        .filter(Boolean)
        .sort(),
      Object.values(BUILD_STATUS_BY_NUMBER).sort(),
    ));
});
