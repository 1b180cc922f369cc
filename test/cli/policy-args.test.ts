/**
 * `dropdeploy policy <service> [flags]`: each flag sets one field (and names it in the update
 * mask), durations as people write them become Google Durations, and a bad value is refused
 * before any request, saying what the flag takes.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseArgs} from '../../cli/args';
import {UsageError} from '../../cli/errors';
import {parseHumanDuration, POLICY_FLAGS} from '../../cli/policy-args';
import {COMMANDS, flagOf} from '../../cli/syntax';
import {POLICY_FIELDS} from '../../src/releases/policy-patch';

const policy = (...flags: string[]) => parseArgs(['policy', 'web', ...flags]).command;

describe('parseHumanDuration', () => {
  const rows: Array<{name: string; input: string; want: string}> = [
    {name: 'a Google Duration stays', input: '300s', want: '300s'},
    {name: 'minutes', input: '5m', want: '300s'},
    {name: 'hours and minutes', input: '1h30m', want: '5400s'},
    {name: 'a fraction of a second', input: '1.5s', want: '1.5s'},
    {name: 'milliseconds', input: '500ms', want: '0.5s'},
    {name: 'minutes and seconds', input: '2m30s', want: '150s'},
    {name: 'no unit: handed on for the check to refuse', input: '300', want: '300'},
    {name: 'words: handed on', input: '5 minutes', want: '5 minutes'},
  ];
  for (const r of rows) it(r.name, () => assert.equal(parseHumanDuration(r.input), r.want));
});

describe('dropdeploy policy: flags', () => {
  const rows: Array<{name: string; input: string[]; want: object}> = [
    {name: 'no flags: show', input: [], want: {name: 'policy', service: 'web'}},
    {
      name: 'one flag, one field',
      input: ['--strategy', 'canary'],
      want: {name: 'policy', service: 'web', change: {body: {strategy: 'canary'}, mask: ['strategy']}},
    },
    {
      name: 'every flag',
      input: [
        '--strategy=verified',
        '--steps',
        '10,50,100',
        '--interval',
        '5m',
        '--check-path',
        '/healthz',
        '--check-status',
        '204',
        '--check-timeout',
        '500ms',
        '--check-attempts',
        '3',
        '--max-5xx-ratio',
        '0.01',
        '--p99-ms',
        '1000',
        '--min-requests',
        '0',
        '--targets',
        'us-central1,europe-west1,asia-east1@other-project',
        '--target-order',
        'parallel',
        '--on-target-failure',
        'rollback',
      ],
      want: {
        name: 'policy',
        service: 'web',
        change: {
          body: {
            strategy: 'verified',
            steps: [10, 50, 100],
            interval: '300s',
            check: {path: '/healthz', expectStatus: 204, timeout: '0.5s', attempts: 3},
            thresholds: {max5xxRatio: 0.01, p99Ms: 1000, minRequests: 0},
            targets: [{region: 'us-central1'}, {region: 'europe-west1'}, {region: 'asia-east1', project: 'other-project'}],
            targetOrder: 'parallel',
            onTargetFailure: 'rollback',
          },
          mask: [...POLICY_FIELDS],
        },
      },
    },
    {
      name: 'nested fields of one group: only those in the mask',
      input: ['--check-attempts', '5', '--check-path', '/ready'],
      want: {
        name: 'policy',
        service: 'web',
        change: {body: {check: {path: '/ready', attempts: 5}}, mask: ['check.path', 'check.attempts']},
      },
    },
    {
      name: 'targets default: the controller’s region only',
      input: ['--targets', 'default'],
      want: {name: 'policy', service: 'web', change: {body: {targets: []}, mask: ['targets']}},
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(policy(...r.input), r.want));

  const bad: Array<{name: string; input: string[]; want: RegExp}> = [
    {
      name: 'an unknown strategy',
      input: ['--strategy', 'fast'],
      want: /^policy: --strategy "fast" is not one of immediate, verified, canary$/,
    },
    {
      name: 'steps not ending at 100',
      input: ['--steps', '10,50'],
      want: /--steps "10,50": steps\[1\] the last step must be 100.*; give rising percents/,
    },
    {name: 'falling steps', input: ['--steps', '50,10,100'], want: /--steps "50,10,100": steps\[1\] must be above the step before it/},
    {name: 'a step that is no number', input: ['--steps', '10,half,100'], want: /steps\[1\] must be a whole percent/},
    {
      name: 'an interval without a unit',
      input: ['--interval', '300'],
      want: /--interval "300" is not a duration from 1s to 24h, e\.g\. 300s, 5m, 1h30m/,
    },
    {name: 'an interval too short', input: ['--interval', '500ms'], want: /--interval "500ms" is not a duration from 1s/},
    {name: 'a timeout too long', input: ['--check-timeout', '2m'], want: /--check-timeout "2m" is not a duration from 1ms to 60s/},
    {name: 'a path without /', input: ['--check-path', 'healthz'], want: /--check-path "healthz" is not a URL path starting with \//},
    {name: 'a status out of range', input: ['--check-status', '700'], want: /--check-status "700" is not an HTTP status from 100 to 599/},
    {name: 'a status that is no number', input: ['--check-status', 'ok'], want: /--check-status "ok" is not an HTTP status/},
    {name: 'no attempts', input: ['--check-attempts', '0'], want: /--check-attempts "0" is not a whole number from 1 to 10/},
    {name: 'a ratio above 1', input: ['--max-5xx-ratio', '5'], want: /--max-5xx-ratio "5" is not a ratio from 0 to 1/},
    {name: 'a percent sign', input: ['--max-5xx-ratio', '1%'], want: /--max-5xx-ratio "1%" is not a ratio/},
    {name: 'a p99 of 0', input: ['--p99-ms', '0'], want: /--p99-ms "0" is not milliseconds above 0/},
    {name: 'negative requests', input: ['--min-requests', '-5'], want: /--min-requests "-5" is not a whole number, 0 or more/},
    {name: 'a value left out', input: ['--strategy', 'canary', '--steps', '--interval=5m'], want: /--steps needs a value/},
    {
      name: 'a zone among the targets',
      input: ['--targets', 'us-central1,europe-west1-b'],
      want: /--targets "us-central1,europe-west1-b": targets\[1\]\.region must be a Cloud Run region such as "europe-west1"; give regions/,
    },
    {
      name: 'a target twice',
      input: ['--targets', 'us-central1,us-central1'],
      want: /targets\[1\] names the same region and project as targets\[0\]/,
    },
    {name: 'a target with two projects', input: ['--targets', 'us-central1@a@b'], want: /--targets "us-central1@a@b" is not regions/},
    {name: 'an unknown order', input: ['--target-order', 'random'], want: /--target-order "random" is not one of sequential, parallel/},
    {
      name: 'an unknown failure mode',
      input: ['--on-target-failure', 'retry'],
      want: /--on-target-failure "retry" is not one of keep, rollback/,
    },
  ];
  for (const r of bad) {
    it(`refuses ${r.name}`, () =>
      assert.throws(
        () => policy(...r.input),
        (e: unknown) => e instanceof UsageError && r.want.test(e.message) && e.usage?.startsWith('dropdeploy policy <service>') === true,
      ));
  }

  it('the flags are the fields, one to one, and the help lists each', () => {
    assert.deepEqual(
      POLICY_FLAGS.map((f) => f.field),
      [...POLICY_FIELDS],
    );
    assert.deepEqual(
      COMMANDS.policy.options.map((o) => flagOf(o).flag),
      POLICY_FLAGS.map((f) => f.flag),
    );
  });
});
