/**
 * Prints status events readably as they arrive on the status topic (the local stack's
 * subscriber, and an example of one).
 */
import type {Message} from '@google-cloud/pubsub';

const COLORS: Record<string, string> = {
  accepted: '36',
  building: '33',
  deploying: '35',
  verifying: '34',
  rolling_out: '34',
  deployed: '32',
  build_failed: '31',
  deploy_failed: '31',
  superseded: '90',
  rejected: '31',
  rolled_back: '31',
};

/** A field of the event's data as text: strings and numbers as they are, anything else as `fallback`. */
function text(v: unknown, fallback = ''): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : fallback;
}

/** One line for a status message: `12:00:01 hello v3 deployed  http://…  (revision …)`. */
export function formatStatus(m: Pick<Message, 'attributes' | 'data'>, color: boolean): string {
  const type = m.attributes['ce-type'] ?? '';
  const state = type.replace('dev.dropdeploy.release.v1.', '');
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(m.data.toString()) as Record<string, unknown>;
  } catch {
    // print what we can
  }
  const who = data.service ? `${text(data.service)} v${text(data.release, '?')}` : (m.attributes['ce-subject'] ?? '?');
  const time = (m.attributes['ce-time'] ?? new Date().toISOString()).slice(11, 19);
  const error = typeof data.error === 'object' && data.error !== null ? (data.error as Record<string, unknown>) : {};
  const rollout = typeof data.rollout === 'object' && data.rollout !== null ? (data.rollout as Record<string, unknown>) : {};
  const detail =
    state === 'deployed'
      ? `${text(data.url)}  (revision ${text(data.revision, '?')})`
      : state === 'verifying'
        ? `revision ${text(data.revision, '?')}, no traffic yet: checking ${text(rollout.tagUrl, 'its tag URL')}`
        : state === 'rolling_out'
          ? `${text(data.traffic, '?')}% of traffic on revision ${text(data.revision, '?')}`
          : state === 'building'
            ? `build ${text(data.buildId)}  log: ${text(data.buildLogUrl)}`
            : state === 'superseded'
              ? `v${text(data.supersededBy, '?')} was deployed first`
              : text(error.message);
  const label = color ? `\x1b[${COLORS[state] ?? '0'}m${state.padEnd(13)}\x1b[0m` : state.padEnd(13);
  return `${time}  ${who.padEnd(24)} ${label} ${detail}`.trimEnd();
}
