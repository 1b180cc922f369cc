import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  recordEnv,
  redactedNames,
  restoreEnv,
  servingRevisionOverFailed,
  type RecordedEnvVar,
  type RevisionStatus,
} from '../../src/releases/deployed-env';
import type {RunEnvVar} from '../../src/releases/env';

const REF = {secretKeyRef: {secret: 'db-password', version: '3'}};

describe('recordEnv: what a release keeps of the env it deployed', () => {
  const rows: Array<{name: string; input: {env?: RunEnvVar[]; redact?: string[]}; want: RecordedEnvVar[]}> = [
    {name: 'no env', input: {}, want: []},
    {
      name: 'harmless values kept, in order',
      input: {env: [{name: 'NAME', value: 'a'}, {name: 'EMPTY'}]},
      want: [
        {name: 'NAME', value: 'a'},
        {name: 'EMPTY', value: ''},
      ],
    },
    {
      name: 'a secret-looking name or value redacted',
      input: {
        env: [
          {name: 'API_TOKEN', value: 't0k3n'},
          {name: 'DATABASE_URL', value: 'postgres://u:pw@db/app'},
        ],
      },
      want: [
        {name: 'API_TOKEN', redacted: true},
        {name: 'DATABASE_URL', redacted: true},
      ],
    },
    {
      name: 'a Secret Manager reference kept as a reference, never resolved',
      input: {env: [{name: 'DB_PASSWORD', valueSource: REF}]},
      want: [{name: 'DB_PASSWORD', valueSource: REF}],
    },
    {
      name: 'a name that was a secret (a replaced reference) redacted whatever it looks like',
      input: {env: [{name: 'DB', value: 'plain-now'}], redact: ['DB']},
      want: [{name: 'DB', redacted: true}],
    },
    {
      name: 'a name to redact that is a reference now: the reference',
      input: {env: [{name: 'DB', valueSource: REF}], redact: ['DB']},
      want: [{name: 'DB', valueSource: REF}],
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(recordEnv(r.input.env, new Set(r.input.redact)), r.want));

  it('redactedNames lists the redacted ones', () => {
    assert.deepEqual(
      [
        ...redactedNames([
          {name: 'A', value: '1'},
          {name: 'B', redacted: true},
          {name: 'C', valueSource: REF},
        ]),
      ],
      ['B'],
    );
    assert.deepEqual([...redactedNames(undefined)], []);
  });
});

describe('restoreEnv: the env a rollback deploys', () => {
  const rows: Array<{name: string; input: {recorded: RecordedEnvVar[]; revision?: RunEnvVar[]}; want: ReturnType<typeof restoreEnv>}> = [
    {name: 'nothing recorded: an empty env', input: {recorded: []}, want: {ok: true, env: []}},
    {
      name: 'values and references from the record, no revision needed',
      input: {
        recorded: [
          {name: 'NAME', value: 'a'},
          {name: 'DB', valueSource: REF},
        ],
      },
      want: {
        ok: true,
        env: [
          {name: 'NAME', value: 'a'},
          {name: 'DB', valueSource: REF},
        ],
      },
    },
    {
      name: 'a redacted value from the revision that ran the release',
      input: {
        recorded: [
          {name: 'NAME', value: 'a'},
          {name: 'API_TOKEN', redacted: true},
        ],
        revision: [
          {name: 'API_TOKEN', value: 'old-token'},
          {name: 'NAME', value: 'ignored: the record says'},
        ],
      },
      want: {
        ok: true,
        env: [
          {name: 'NAME', value: 'a'},
          {name: 'API_TOKEN', value: 'old-token'},
        ],
      },
    },
    {
      name: 'the revision is gone: the redacted names are missing',
      input: {
        recorded: [
          {name: 'NAME', value: 'a'},
          {name: 'API_TOKEN', redacted: true},
        ],
      },
      want: {ok: false, missing: ['API_TOKEN']},
    },
    {
      name: 'the revision has no plain value for it: missing',
      input: {recorded: [{name: 'API_TOKEN', redacted: true}], revision: [{name: 'API_TOKEN', valueSource: REF}]},
      want: {ok: false, missing: ['API_TOKEN']},
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(restoreEnv(r.input.recorded, r.input.revision), r.want));
});

describe('servingRevisionOverFailed: where a deploy takes its env from', () => {
  const svc = 'projects/p/locations/r/services/web/revisions/';
  const rows: Array<{name: string; input: RevisionStatus; want: string | undefined}> = [
    {name: 'a new service: the template', input: {}, want: undefined},
    {
      name: 'the latest revision serves: the template',
      input: {latestCreatedRevision: `${svc}web-2`, latestReadyRevision: `${svc}web-2`, terminalCondition: {state: 'CONDITION_SUCCEEDED'}},
      want: undefined,
    },
    {
      name: 'the latest revision failed: the serving one',
      input: {latestCreatedRevision: `${svc}web-3`, latestReadyRevision: `${svc}web-2`, terminalCondition: {state: 'CONDITION_FAILED'}},
      want: 'web-2',
    },
    {
      name: 'the same, with the enum as a number',
      input: {latestCreatedRevision: `${svc}web-3`, latestReadyRevision: `${svc}web-2`, terminalCondition: {state: 3}},
      want: 'web-2',
    },
    {
      name: 'the latest revision still rolling out (an operator’s change): the template',
      input: {
        latestCreatedRevision: `${svc}web-3`,
        latestReadyRevision: `${svc}web-2`,
        terminalCondition: {state: 'CONDITION_RECONCILING'},
      },
      want: undefined,
    },
    {
      name: 'the first revision failed, none serves: the template',
      input: {latestCreatedRevision: `${svc}web-1`, terminalCondition: {state: 'CONDITION_FAILED'}},
      want: undefined,
    },
  ];
  for (const r of rows) it(r.name, () => assert.equal(servingRevisionOverFailed(r.input), r.want));
});
