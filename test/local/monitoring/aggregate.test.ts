import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import type {RequestRecord} from '../../../local/cloud-run/request-log';
import {percentile, REQUEST_COUNT, REQUEST_LATENCIES, timeSeries, type SeriesQuery} from '../../../local/monitoring/aggregate';
import {parseField, parseFilter} from '../../../local/monitoring/filter';

const WHERE = {projectId: 'p', location: 'l'};
const END = 1_800_000_000_000; // a whole minute
const MIN = 60_000;
const rec = (revision: string, status: number, latencyMs: number, at: number): RequestRecord => ({
  service: 's',
  revision,
  status,
  latencyMs,
  at,
});
// v2: 6 × 200 (10..60 ms) and 2 × 500 (100, 200 ms) in the last minute, one 200 two minutes back; v1: one 200.
const RECORDS: RequestRecord[] = [
  ...[10, 20, 30, 40, 50, 60].map((ms, i) => rec('v2', 200, ms, END - 1000 * (i + 1))),
  rec('v2', 500, 100, END - 500),
  rec('v2', 503, 200, END),
  rec('v2', 200, 5, END - 2 * MIN - 1),
  rec('v1', 200, 7, END - 2000),
];

function query(filter: string, q: Omit<Partial<SeriesQuery>, 'groupBy'> & {groupBy?: string[]} = {}): SeriesQuery {
  const f = parseFilter(filter);
  return {
    metricType: f.metricType as SeriesQuery['metricType'],
    terms: f.terms,
    startMs: END - 5 * MIN,
    endMs: END,
    aligner: 'ALIGN_DELTA',
    periodMs: 5 * MIN,
    reducer: 'REDUCE_NONE',
    ...q,
    groupBy: (q.groupBy ?? []).map(parseField),
  };
}
const V2 = `resource.type = "cloud_run_revision" AND resource.labels.service_name = "s" AND resource.labels.revision_name = "v2"`;
const count = (extra = '') => `metric.type = "${REQUEST_COUNT}" AND ${V2}${extra}`;
const latency = `metric.type = "${REQUEST_LATENCIES}" AND ${V2}`;

/** Series as [labels, kind/type, points as [start offset s, end offset s, value]]: short enough to read in a table. */
function brief(q: SeriesQuery) {
  return timeSeries(RECORDS, WHERE, q).map((s) => [
    {...s.resource, ...s.metric},
    `${s.metricKind} ${s.valueType}`,
    s.points.map((p) => [
      (p.startMs - END) / 1000,
      (p.endMs - END) / 1000,
      'samples' in p.value ? p.value.samples.length : Object.values(p.value)[0],
    ]),
  ]);
}
const V2_RESOURCE = {project_id: 'p', location: 'l', service_name: 's', revision_name: 'v2', configuration_name: 's'};

describe('timeSeries (ListTimeSeries arithmetic)', () => {
  const cases: Array<{name: string; input: SeriesQuery; want: unknown}> = [
    {
      name: "the adapter's count: ALIGN_DELTA over the window, REDUCE_SUM by response code class",
      input: query(count(), {reducer: 'REDUCE_SUM', groupBy: ['metric.labels.response_code_class']}),
      want: [
        [{response_code_class: '2xx'}, 'DELTA INT64', [[-300, 0, 7]]],
        [{response_code_class: '5xx'}, 'DELTA INT64', [[-300, 0, 2]]],
      ],
    },
    {
      name: 'only 5xx, summed into one series (no groupByFields)',
      input: query(count(' AND metric.labels.response_code_class = "5xx"'), {reducer: 'REDUCE_SUM'}),
      want: [[{}, 'DELTA INT64', [[-300, 0, 2]]]],
    },
    {
      name: 'no reducer: one series per response code, with every label',
      input: query(count(' AND metric.labels.response_code_class = "5xx"')),
      want: [
        [{...V2_RESOURCE, response_code: '500', response_code_class: '5xx'}, 'DELTA INT64', [[-300, 0, 1]]],
        [{...V2_RESOURCE, response_code: '503', response_code_class: '5xx'}, 'DELTA INT64', [[-300, 0, 1]]],
      ],
    },
    {
      name: 'one-minute periods, newest first; a period without requests has no point',
      input: query(count(), {periodMs: MIN, reducer: 'REDUCE_SUM'}),
      want: [
        [
          {},
          'DELTA INT64',
          [
            [-60, 0, 8],
            [-180, -120, 1],
          ],
        ],
      ],
    },
    {
      name: 'ALIGN_SUM of a DELTA count is its delta',
      input: query(count(), {aligner: 'ALIGN_SUM', reducer: 'REDUCE_SUM'}),
      want: [[{}, 'DELTA INT64', [[-300, 0, 9]]]],
    },
    {
      name: 'ALIGN_RATE: requests per second, a GAUGE DOUBLE',
      input: query(count(), {aligner: 'ALIGN_RATE', periodMs: MIN, reducer: 'REDUCE_SUM'}),
      want: [
        [
          {},
          'GAUGE DOUBLE',
          [
            [0, 0, 8 / 60],
            [-120, -120, 1 / 60],
          ],
        ],
      ],
    },
    {
      name: 'REDUCE_MAX of counts across response codes',
      input: query(count(), {reducer: 'REDUCE_MAX', groupBy: ['resource.labels.revision_name']}),
      want: [[{revision_name: 'v2'}, 'DELTA INT64', [[-300, 0, 7]]]],
    },
    {
      name: 'ALIGN_NONE: raw one-minute points',
      input: query(count(' AND metric.labels.response_code = "200"'), {aligner: 'ALIGN_NONE', periodMs: undefined}),
      want: [
        [
          {...V2_RESOURCE, response_code: '200', response_code_class: '2xx'},
          'DELTA INT64',
          [
            [-60, 0, 6],
            [-180, -120, 1],
          ],
        ],
      ],
    },
    {
      name: 'the interval is (start, end]: a request at the start is not in it',
      input: query(count(), {startMs: END - 2 * MIN - 1, reducer: 'REDUCE_SUM'}),
      want: [[{}, 'DELTA INT64', [[-300, 0, 8]]]],
    },
    {
      name: 'another revision: its own requests only',
      input: query(`metric.type = "${REQUEST_COUNT}" AND resource.labels.revision_name = "v1"`, {reducer: 'REDUCE_SUM'}),
      want: [[{}, 'DELTA INT64', [[-300, 0, 1]]]],
    },
    {name: 'no requests in the interval: no series', input: query(count(), {startMs: END - 10 * MIN, endMs: END - 6 * MIN}), want: []},
    {
      name: 'another resource type: no series',
      input: query(`metric.type = "${REQUEST_COUNT}" AND resource.type = "gce_instance"`),
      want: [],
    },
    {
      name: "the adapter's p99: ALIGN_DELTA, REDUCE_PERCENTILE_99 over all of the revision's latencies",
      input: query(latency, {reducer: 'REDUCE_PERCENTILE_99'}),
      want: [[{}, 'GAUGE DOUBLE', [[-300, 0, percentile([5, 10, 20, 30, 40, 50, 60, 100, 200], 0.99)]]]],
    },
    {
      name: 'ALIGN_PERCENTILE_99 then REDUCE_MAX: the largest per-series p99',
      input: query(latency, {aligner: 'ALIGN_PERCENTILE_99', reducer: 'REDUCE_MAX'}),
      want: [[{}, 'GAUGE DOUBLE', [[0, 0, 200]]]],
    },
    {
      name: 'ALIGN_PERCENTILE_50 per series',
      input: query(`${latency} AND metric.labels.response_code = "200"`, {aligner: 'ALIGN_PERCENTILE_50'}),
      want: [[{...V2_RESOURCE, response_code: '200', response_code_class: '2xx'}, 'GAUGE DOUBLE', [[0, 0, 30]]]],
    },
    {
      name: 'ALIGN_DELTA of latencies: distributions, merged by REDUCE_SUM',
      input: query(latency, {reducer: 'REDUCE_SUM'}),
      want: [[{}, 'DELTA DISTRIBUTION', [[-300, 0, 9]]]],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(brief(c.input), c.want));

  const refused: Array<{name: string; input: SeriesQuery; want: RegExp}> = [
    {name: 'a percentile of counts', input: query(count(), {aligner: 'ALIGN_PERCENTILE_99'}), want: /valid for distribution values only/},
    {name: 'a rate of latencies', input: query(latency, {aligner: 'ALIGN_RATE'}), want: /valid for numeric values only/},
    {
      name: 'REDUCE_MAX of distributions',
      input: query(latency, {reducer: 'REDUCE_MAX'}),
      want: /REDUCE_MAX is valid for numeric values only/,
    },
  ];
  for (const c of refused) it(`refuses ${c.name}`, () => assert.throws(() => timeSeries(RECORDS, WHERE, c.input), c.want));
});

describe('percentile', () => {
  const cases = [
    {name: 'empty', input: {values: [], p: 0.99}, want: NaN},
    {name: 'one value', input: {values: [7], p: 0.99}, want: 7},
    {name: 'the median of an odd count', input: {values: [3, 1, 2], p: 0.5}, want: 2},
    {name: 'interpolated between ranks', input: {values: [10, 20], p: 0.5}, want: 15},
    {name: 'p99 of 1..100', input: {values: Array.from({length: 100}, (_, i) => i + 1), p: 0.99}, want: 99.01},
  ];
  for (const c of cases)
    it(c.name, () =>
      assert.ok(
        Object.is(percentile(c.input.values, c.input.p), c.want) || Math.abs(percentile(c.input.values, c.input.p) - c.want) < 1e-9,
      ),
    );
});
