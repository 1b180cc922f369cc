/**
 * The subset of Cloud Monitoring's filter language (https://cloud.google.com/monitoring/api/v3/filters)
 * that callers of Cloud Run's request metrics use: `field = "value"` terms joined by `AND` (or
 * by juxtaposition, which means AND too), on the metric type, the resource type and the labels
 * of `cloud_run_revision` and of the request metrics. Anything else is refused, naming the part.
 * Pure.
 */

/** A field a filter or `groupByFields` names. */
export type Field = {kind: 'metric.type'} | {kind: 'resource.type'} | {kind: 'resource.label' | 'metric.label'; label: string};

/** One `field = "value"` term. */
export interface Term {
  field: Field;
  value: string;
}

/** A parsed filter: its terms, all of which must hold; `metricType` is the one metric it names. */
export interface ParsedFilter {
  metricType: string;
  terms: Term[];
}

/** A filter or field the emulator does not understand: the message names the part. */
export class FilterError extends Error {}

/** Labels of the monitored resource `cloud_run_revision`. */
export const RESOURCE_LABELS = ['project_id', 'location', 'service_name', 'revision_name', 'configuration_name'];
/** Labels of run.googleapis.com/request_count and request_latencies that the emulator sets. */
export const METRIC_LABELS = ['response_code', 'response_code_class'];

const SUPPORTED =
  'the local Monitoring API understands `field = "value"` terms joined by AND, on metric.type, resource.type, ' +
  `resource.labels.{${RESOURCE_LABELS.join(',')}} and metric.labels.{${METRIC_LABELS.join(',')}}`;

// A field path (`resource.labels.service_name`, `metric.label."response_code"`), `=`, a quoted
// string, the word AND; anything else is one character the filter cannot contain here.
const TOKEN = /\s*(?:(AND)(?![\w.])|("(?:[^"\\]|\\.)*")|([A-Za-z_][\w]*(?:\.(?:[A-Za-z_]\w*|"[^"]*"))*)|(=)|(\S))/y;

/** Parses a field name as used in filters and in `groupByFields`; throws {@link FilterError}. */
export function parseField(text: string): Field {
  const parts = [...text.trim().matchAll(/"([^"]*)"|([^.]+)/g)].map((m) => m[1] ?? m[2]);
  const [scope, what, label, ...rest] = parts;
  if (parts.length === 2 && what === 'type' && (scope === 'metric' || scope === 'resource')) return {kind: `${scope}.type`};
  const known = scope === 'resource' ? RESOURCE_LABELS : scope === 'metric' ? METRIC_LABELS : undefined;
  if (known && (what === 'labels' || what === 'label') && label !== undefined && rest.length === 0) {
    if (!known.includes(label)) {
      throw new FilterError(
        `'${text}' is not a label the local Monitoring API has on ${scope === 'resource' ? 'cloud_run_revision' : 'the request metrics'} (it has ${known.join(', ')})`,
      );
    }
    return {kind: `${scope as 'resource' | 'metric'}.label`, label};
  }
  throw new FilterError(`the field '${text}' is not supported: ${SUPPORTED}`);
}

/** Parses a ListTimeSeries filter; throws {@link FilterError} naming the first part it does not support. */
export function parseFilter(filter: string): ParsedFilter {
  const terms: Term[] = [];
  let expectTerm = true;
  TOKEN.lastIndex = 0;
  const next = () => {
    if (TOKEN.lastIndex >= filter.length || /^\s*$/.test(filter.slice(TOKEN.lastIndex))) return undefined;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(filter);
    return m && {m, at};
  };
  for (let tok = next(); tok; tok = next()) {
    const {m, at} = tok;
    if (m[1]) {
      if (expectTerm) throw new FilterError(`'AND' at position ${at} has no term before it`);
      expectTerm = true;
      continue;
    }
    if (m[3] === 'OR' || m[3] === 'NOT') throw new FilterError(`the operator ${m[3]} (position ${at}) is not supported: ${SUPPORTED}`);
    if (!m[3])
      throw new FilterError(`unsupported filter syntax at position ${at} ('${filter.slice(at).trim().slice(0, 30)}'): ${SUPPORTED}`);
    const field = parseField(m[3]);
    const op = next();
    if (!op?.m[4]) {
      const what = op ? `'${filter.slice(op.at).trim().slice(0, 20)}'` : 'the end of the filter';
      throw new FilterError(`'${m[3]}' must be followed by = "value", not ${what}: ${SUPPORTED}`);
    }
    const value = next();
    if (!value?.m[2]) throw new FilterError(`'${m[3]} =' must be followed by a quoted string ("...")`);
    terms.push({field, value: JSON.parse(value.m[2]) as string});
    expectTerm = false;
  }
  if (expectTerm && terms.length > 0) throw new FilterError("the filter ends with 'AND'");
  const types = terms.filter((t) => t.field.kind === 'metric.type');
  if (types.length !== 1)
    throw new FilterError('the filter must name exactly one metric.type, e.g. metric.type = "run.googleapis.com/request_count"');
  return {metricType: types[0].value, terms};
}

/** The value a series has for a field (its labels and types), or undefined when it has none. */
export function fieldValue(
  series: {metricType: string; resourceType: string; metric: Record<string, string>; resource: Record<string, string>},
  field: Field,
): string | undefined {
  switch (field.kind) {
    case 'metric.type':
      return series.metricType;
    case 'resource.type':
      return series.resourceType;
    case 'metric.label':
      return series.metric[field.label];
    case 'resource.label':
      return series.resource[field.label];
  }
}
