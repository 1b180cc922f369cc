import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {parseField, parseFilter, type ParsedFilter} from '../../../local/monitoring/filter';

const COUNT = 'run.googleapis.com/request_count';

describe('parseFilter', () => {
  const cases: Array<{name: string; input: string; want: ParsedFilter | RegExp}> = [
    {
      name: 'the metric type alone',
      input: `metric.type = "${COUNT}"`,
      want: {metricType: COUNT, terms: [{field: {kind: 'metric.type'}, value: COUNT}]},
    },
    {
      name: 'what the adapter sends: terms joined by AND',
      input: `metric.type = "${COUNT}" AND resource.type = "cloud_run_revision" AND resource.labels.service_name = "hello" AND resource.labels.revision_name = "hello-00002-abc"`,
      want: {
        metricType: COUNT,
        terms: [
          {field: {kind: 'metric.type'}, value: COUNT},
          {field: {kind: 'resource.type'}, value: 'cloud_run_revision'},
          {field: {kind: 'resource.label', label: 'service_name'}, value: 'hello'},
          {field: {kind: 'resource.label', label: 'revision_name'}, value: 'hello-00002-abc'},
        ],
      },
    },
    {
      name: 'what cloud-run-release-manager sends: no spaces, label (singular) and a quoted key',
      input: `resource.labels.project_id="p" AND metric.label."response_code_class"="5xx" AND metric.type="${COUNT}"`,
      want: {
        metricType: COUNT,
        terms: [
          {field: {kind: 'resource.label', label: 'project_id'}, value: 'p'},
          {field: {kind: 'metric.label', label: 'response_code_class'}, value: '5xx'},
          {field: {kind: 'metric.type'}, value: COUNT},
        ],
      },
    },
    {
      name: 'juxtaposed terms mean AND, as in dashboards',
      input: `metric.type="${COUNT}" resource.type="cloud_run_revision"`,
      want: {
        metricType: COUNT,
        terms: [
          {field: {kind: 'metric.type'}, value: COUNT},
          {field: {kind: 'resource.type'}, value: 'cloud_run_revision'},
        ],
      },
    },
    {
      name: 'an escaped quote in a value',
      input: `metric.type = "a\\"b"`,
      want: {metricType: 'a"b', terms: [{field: {kind: 'metric.type'}, value: 'a"b'}]},
    },
    {name: 'no metric type', input: 'resource.type = "cloud_run_revision"', want: /exactly one metric\.type/},
    {name: 'an empty filter', input: '', want: /exactly one metric\.type/},
    {name: 'OR', input: `metric.type = "${COUNT}" OR metric.type = "x"`, want: /operator OR .* not supported/},
    {name: 'NOT', input: `NOT metric.type = "${COUNT}"`, want: /operator NOT/},
    {
      name: 'a comparison other than =',
      input: `metric.type = "${COUNT}" AND resource.labels.service_name != "x"`,
      want: /must be followed by = "value", not '!= "x"'/,
    },
    {name: 'has (:)', input: `metric.type : "${COUNT}"`, want: /must be followed by = "value", not ': /},
    {name: 'a function', input: `metric.type = starts_with("run")`, want: /must be followed by a quoted string/},
    {name: 'an unquoted value', input: 'metric.type = run', want: /must be followed by a quoted string/},
    {name: 'parentheses', input: `(metric.type = "${COUNT}")`, want: /unsupported filter syntax at position 0/},
    {name: 'a trailing AND', input: `metric.type = "${COUNT}" AND`, want: /ends with 'AND'/},
    {name: 'a leading AND', input: `AND metric.type = "${COUNT}"`, want: /'AND' at position 0 has no term before it/},
    {
      name: 'an unknown resource label',
      input: `metric.type = "${COUNT}" AND resource.labels.zone = "x"`,
      want: /'resource.labels.zone' is not a label .* cloud_run_revision/,
    },
    {
      name: 'an unknown metric label',
      input: `metric.type = "${COUNT}" AND metric.labels.route_type = "x"`,
      want: /'metric.labels.route_type' is not a label .* request metrics/,
    },
    {name: 'another field', input: `metric.type = "${COUNT}" AND project = "x"`, want: /field 'project' is not supported/},
    {
      name: 'metadata labels',
      input: `metric.type = "${COUNT}" AND metadata.user_labels.a = "x"`,
      want: /field 'metadata.user_labels.a' is not supported/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.want instanceof RegExp) assert.throws(() => parseFilter(c.input), c.want);
      else assert.deepEqual(parseFilter(c.input), c.want);
    });
  }
});

describe('parseField (groupByFields)', () => {
  const cases = [
    {name: 'labels', input: 'metric.labels.response_code_class', want: {kind: 'metric.label', label: 'response_code_class'}},
    {name: 'label', input: 'resource.label.revision_name', want: {kind: 'resource.label', label: 'revision_name'}},
    {name: 'a quoted key', input: 'resource.label."service_name"', want: {kind: 'resource.label', label: 'service_name'}},
    {name: 'resource.type', input: 'resource.type', want: {kind: 'resource.type'}},
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseField(c.input), c.want));
  it('refuses a field it does not know, naming it', () => assert.throws(() => parseField('metric.labels.x'), /'metric.labels.x'/));
});
