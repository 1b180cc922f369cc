import {clonePlain} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';
import {keysOf, type Revision, type Service, type TrafficTarget} from './messages';

/** Traffic type that follows the latest ready revision. */
export const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

// Service fields that only the server sets; whatever a caller sends for them is ignored.
const OUTPUT_ONLY = new Set([
  'name',
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'urls',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'latestReadyRevision',
  'latestCreatedRevision',
  'trafficStatuses',
  'uri',
  'satisfiesPzs',
  'threatDetectionEnabled',
  'reconciling',
  'etag',
]);

/** The caller-settable fields of a Service (labels, annotations, template, traffic, scaling, ...). */
export function mutableFields(service: Service): Service {
  const out = clonePlain(service);
  for (const key of keysOf(out)) if (OUTPUT_ONLY.has(key)) delete out[key];
  return out;
}

/**
 * Rejects traffic Cloud Run would refuse: percentages not adding up to 100, or a named
 * revision that does not exist (and is not the one this request creates).
 */
export function checkTraffic(traffic: TrafficTarget[], revisions: Map<string, Revision>, creating: string | undefined): void {
  const total = traffic.reduce((sum, t) => sum + (t.percent ?? 0), 0);
  if (total !== 100) throw rpc.invalidArgument(`service.traffic: percentages must add up to 100, not ${total}.`);
  for (const t of traffic) {
    if (t.type === LATEST) continue;
    if (t.type !== REVISION || !t.revision) {
      throw rpc.invalidArgument('service.traffic: each target needs type LATEST, or type REVISION with a revision.');
    }
    if (!revisions.has(t.revision) && t.revision !== creating) {
      throw rpc.invalidArgument(
        `Revision '${t.revision}' does not exist or is deleted. Update all traffic to route to currently available revisions.`,
      );
    }
  }
}

/** The top-level fields named by an update mask (`template.containers` → `template`). */
export function pickTopLevel(value: Service, paths: string[]): Service {
  const top = new Set(paths.map((p) => p.split('.')[0].replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())));
  const out = {...value};
  for (const key of keysOf(out)) if (!top.has(key)) delete out[key];
  return out;
}
