/**
 * Maps a release state to a CloudEvent in binary content mode of the CloudEvents Pub/Sub
 * protocol binding: context attributes as `ce-*` message attributes, JSON data as the body.
 */
import {CloudEvent, HTTP} from 'cloudevents';
import type {Release, Source, State} from './release';

/** Prefix of every status event type; the state is appended. */
export const EVENT_TYPE_PREFIX = 'dev.dropdeploy.release.v1.';
/** The JSON Schema of `data`, documented in schemas/release-event.v1.json. */
export const DATA_SCHEMA = 'https://dropdeploy.dev/schemas/release-event.v1.json';

/** A Pub/Sub message ready to publish. */
export interface StatusMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

/** The `data` of a status event: the release record, announcing `state`. */
export type ReleaseEventData = Omit<Release, 'published' | 'history'> & {stateTime: string};

/** The data of a status event: the release without outbox bookkeeping, `state` set to the announced one. */
export function eventData(r: Release, state: State): ReleaseEventData {
  const {published: _p, history, ...rest} = r;
  const at = [...history].reverse().find((h) => h.state === state)?.time ?? r.updateTime;
  return {...rest, state, stateTime: at};
}

/** The `source` attribute of every status event of an installation. */
export function eventSource(projectId: string, region: string): string {
  return `//dropdeploy.dev/projects/${projectId}/locations/${region}`;
}

/** Builds the message for `state` of release `r`. Its `ce-id` is stable per (service, release, state). */
export function releaseStatusMessage(r: Release, state: State, ctx: {projectId: string; region: string}): StatusMessage {
  const data = eventData(r, state);
  return toMessage({
    id: `${r.service}/${r.release}/${state}`,
    source: eventSource(ctx.projectId, ctx.region),
    type: EVENT_TYPE_PREFIX + state,
    subject: `services/${r.service}/releases/${r.release}`,
    time: data.stateTime,
    data,
  }, r.service);
}

/**
 * The `rejected` event of an upload that makes no release (for instance an invalid service
 * name). Its subject names the object.
 */
export function rejectedObjectMessage(source: Source, error: {code: string; message: string}, ctx: {projectId: string; region: string; now: Date}): StatusMessage {
  const time = ctx.now.toISOString();
  return toMessage({
    id: `objects/${source.bucket}/${source.object}#${source.generation}/rejected`,
    source: eventSource(ctx.projectId, ctx.region),
    type: EVENT_TYPE_PREFIX + 'rejected',
    subject: `objects/${source.object}`,
    time,
    data: {state: 'rejected', trigger: 'upload', actor: `gs://${source.bucket}/${source.object}#${source.generation}`, source, error, stateTime: time},
  }, `objects/${source.bucket}/${source.object}`);
}

function toMessage(attrs: {id: string; source: string; type: string; subject: string; time: string; data: object}, orderingKey: string): StatusMessage {
  const event = new CloudEvent({...attrs, datacontenttype: 'application/json', dataschema: DATA_SCHEMA});
  const {headers, body} = HTTP.binary(event);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) attributes[k.toLowerCase()] = String(v);
  return {data: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), attributes, orderingKey};
}
