/**
 * Maps a release state to a CloudEvent in binary content mode of the CloudEvents Pub/Sub
 * protocol binding: context attributes as `ce-*` message attributes, JSON data as the body.
 */
import {createHash} from 'node:crypto';
import {CloudEvent, HTTP} from 'cloudevents';
import {parseEventKey, type EventKey, type Release, type Source, type State} from './release';

/** Prefix of every status event type; the state is appended. */
export const EVENT_TYPE_PREFIX = 'dev.dropdeploy.release.v1.';
/** The JSON Schema of `data`, documented in schemas/release-event.v1.json. */
export const DATA_SCHEMA = 'https://dropdeploy.dev/schemas/release-event.v1.json';

/** Pub/Sub's resource limits on a message, in bytes of UTF-8 (cloud.google.com/pubsub/quotas#resource_limits). */
export const PUBSUB_LIMITS = {attributeKeyBytes: 256, attributeValueBytes: 1024, orderingKeyBytes: 1024};

/** A Pub/Sub message ready to publish. */
export interface StatusMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

/**
 * The `data` of a status event: the release record, announcing `state`. `traffic`: during a
 * progressive rollout, the percent of the service's traffic on the release's revision at that
 * state (0 while verifying and once rolled back, each step's percent, 100 once deployed).
 */
export type ReleaseEventData = Omit<Release, 'published' | 'history'> & {stateTime: string; traffic?: number};

/** The data of a status event: the release without outbox bookkeeping, `state` set to the announced one. */
export function eventData(r: Release, key: EventKey): ReleaseEventData {
  const {published: _p, history, ...rest} = r;
  const {state, traffic} = parseEventKey(key);
  const entry = [...history].reverse().find((h) => h.state === state && (traffic === undefined || h.traffic === traffic));
  const data: ReleaseEventData = {...rest, state, stateTime: entry?.time ?? r.updateTime};
  const percent = r.rollout ? stateTraffic(state, traffic) : undefined;
  if (percent !== undefined) data.traffic = percent;
  return data;
}

function stateTraffic(state: State, step: number | undefined): number | undefined {
  if (state === 'rolling_out') return step;
  if (state === 'verifying' || state === 'rolled_back') return 0;
  if (state === 'deployed') return 100;
  return undefined;
}

/** The `source` attribute of every status event of an installation. */
export function eventSource(projectId: string, region: string): string {
  return `//dropdeploy.dev/projects/${projectId}/locations/${region}`;
}

/**
 * Builds the message for event `key` of release `r`. Its `ce-id` is stable per (service,
 * release, state), and per step of a rollout (`…/rolling_out@50`).
 */
export function releaseStatusMessage(r: Release, key: EventKey, ctx: {projectId: string; region: string}): StatusMessage {
  const data = eventData(r, key);
  return toMessage(
    {
      id: `${r.service}/${r.release}/${key}`,
      source: eventSource(ctx.projectId, ctx.region),
      type: EVENT_TYPE_PREFIX + data.state,
      subject: `services/${r.service}/releases/${r.release}`,
      time: data.stateTime,
      data,
    },
    r.service,
  );
}

/**
 * The `rejected` event of an upload that makes no release (for instance an invalid service
 * name). Its subject names the object; a name too long for a Pub/Sub attribute is shortened
 * with a hash in id, subject and ordering key (see {@link fitBytes}), never in the data.
 */
export function rejectedObjectMessage(
  source: Source,
  error: {code: string; message: string},
  ctx: {projectId: string; region: string; now: Date},
): StatusMessage {
  const time = ctx.now.toISOString();
  return toMessage(
    {
      id: `objects/${source.bucket}/${source.object}#${source.generation}/rejected`,
      source: eventSource(ctx.projectId, ctx.region),
      type: EVENT_TYPE_PREFIX + 'rejected',
      subject: `objects/${source.object}`,
      time,
      data: {
        state: 'rejected',
        trigger: 'upload',
        actor: `gs://${source.bucket}/${source.object}#${source.generation}`,
        source,
        error,
        stateTime: time,
      },
    },
    `objects/${source.bucket}/${source.object}`,
  );
}

function toMessage(
  attrs: {id: string; source: string; type: string; subject: string; time: string; data: object},
  orderingKey: string,
): StatusMessage {
  const event = new CloudEvent({...attrs, datacontenttype: 'application/json', dataschema: DATA_SCHEMA});
  const {headers, body} = HTTP.binary(event);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) attributes[k.toLowerCase()] = fitBytes(String(v), PUBSUB_LIMITS.attributeValueBytes);
  return {
    data: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    attributes,
    orderingKey: fitBytes(orderingKey, PUBSUB_LIMITS.orderingKeyBytes),
  };
}

const HASH_HEX = 32;

/**
 * `value` when it fits in `maxBytes` of UTF-8; otherwise its longest prefix (cut between
 * characters) followed by `~` and 128 bits of the SHA-256 of the whole value. Such a value
 * is as stable and as distinct as the whole one; only object names make values this long
 * (`rejected` events: up to 1,024 bytes of name plus the bucket), and the event's data names
 * the object in full.
 */
export function fitBytes(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  const suffix = '~' + createHash('sha256').update(value, 'utf8').digest('hex').slice(0, HASH_HEX);
  let room = maxBytes - suffix.length;
  let prefix = '';
  for (const ch of value) {
    room -= Buffer.byteLength(ch, 'utf8');
    if (room < 0) break;
    prefix += ch;
  }
  return prefix + suffix;
}

/** What in `m` Pub/Sub would refuse: attribute keys, attribute values or an ordering key over its limits. */
export function pubsubLimitProblems(m: StatusMessage): string[] {
  const over = (what: string, v: string, max: number) =>
    Buffer.byteLength(v, 'utf8') > max ? [`${what} is ${Buffer.byteLength(v, 'utf8')} bytes (at most ${max})`] : [];
  return [
    ...Object.entries(m.attributes).flatMap(([k, v]) => [
      ...over(`attribute key ${k.slice(0, 40)}`, k, PUBSUB_LIMITS.attributeKeyBytes),
      ...over(`attribute ${k.slice(0, 40)}`, v, PUBSUB_LIMITS.attributeValueBytes),
    ]),
    ...over('the ordering key', m.orderingKey, PUBSUB_LIMITS.orderingKeyBytes),
  ];
}
