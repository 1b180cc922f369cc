import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {Status} from 'google-gax';
import {logFilter, type FilterableEntry} from '../../../local/logging/log-filter';
import {RpcError} from '../../../local/grpc/rpc-error';

const entry: FilterableEntry = {
  logName: 'projects/p/logs/cloudbuild',
  resource: {type: 'build', labels: {build_id: 'b1', project_id: 'p'}},
  timestamp: '2026-12-03T11:00:00.000001Z',
  severity: 'INFO',
};

describe('logFilter', () => {
  const cases = [
    {
      name: 'what gcloud builds log sends',
      filter:
        'logName="projects/p/logs/cloudbuild" AND resource.type="build" AND timestamp>="2026-12-03T11:00:00Z" AND resource.labels.build_id="b1"',
      want: true,
    },
    {name: 'another build', filter: 'resource.labels.build_id="b2"', want: false},
    {name: 'an unknown label matches nothing', filter: 'resource.labels.zone="x"', want: false},
    {name: 'timestamps compare as instants, not text', filter: 'timestamp>="2026-12-03T12:00:00+01:00"', want: true},
    {name: 'a later start excludes the entry', filter: 'timestamp>"2026-12-03T11:00:00.000001Z"', want: false},
    {name: 'an unquoted value', filter: 'severity=INFO', want: true},
    {name: 'not equal', filter: 'resource.type!="build"', want: false},
    {name: 'escaped quotes', filter: 'logName="projects/p/logs/\\"x\\""', want: false},
    {name: 'empty: everything', filter: '  ', want: true},
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(logFilter(c.filter)(entry), c.want));
  }

  const invalid = [
    {name: 'OR', filter: 'severity=INFO OR severity=ERROR'},
    {name: 'a field it cannot read', filter: 'jsonPayload.x="y"'},
    {name: 'a bad timestamp', filter: 'timestamp>="yesterday"'},
  ];
  for (const c of invalid) {
    it(`INVALID_ARGUMENT for ${c.name}`, () => {
      assert.throws(
        () => logFilter(c.filter),
        (err: unknown) => err instanceof RpcError && err.code === Status.INVALID_ARGUMENT,
      );
    });
  }
});
