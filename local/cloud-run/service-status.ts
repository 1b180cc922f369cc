import type {Condition, ServiceConditions, Timestamp, TrafficTarget, TrafficTargetStatus} from './messages';

/** Short revision id from a full revision resource name. */
export function shortRevision(name: string | undefined): string | undefined {
  return name?.split('/').pop();
}

/**
 * The service's trafficStatuses: each traffic target with LATEST resolved to the latest
 * ready revision, as Cloud Run reports where requests actually go, and each tag with its URL.
 */
export function trafficStatuses(
  traffic: TrafficTarget[],
  latestReady: string | undefined,
  tagUri: (tag: string) => string,
): TrafficTargetStatus[] {
  return traffic.map((t) => {
    const status: TrafficTargetStatus = {type: t.type, percent: t.percent ?? 0};
    const revision = t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' ? shortRevision(latestReady) : t.revision;
    if (revision) status.revision = revision;
    if (t.tag) {
      status.tag = t.tag;
      status.uri = tagUri(t.tag);
    }
    return status;
  });
}

/** Conditions while a new generation is being rolled out. */
export function reconcilingConditions(now: Timestamp): ServiceConditions {
  return {
    reconciling: true,
    terminalCondition: {type: 'Ready', state: 'CONDITION_RECONCILING', lastTransitionTime: now},
  };
}

/** Conditions once the latest revision is ready and receives its traffic. */
export function readyConditions(now: Timestamp): ServiceConditions {
  const ok = (type: string) => ({type, state: 'CONDITION_SUCCEEDED', lastTransitionTime: now});
  return {reconciling: false, terminalCondition: ok('Ready'), conditions: [ok('RoutesReady'), ok('ConfigurationsReady')]};
}

/** Conditions when the latest revision failed; routes stay ready if an older revision still serves. */
export function failedConditions(message: string, now: Timestamp, stillServing: boolean): ServiceConditions {
  const failed = (type: string) => ({type, state: 'CONDITION_FAILED', message, lastTransitionTime: now, severity: 'ERROR'});
  return {
    reconciling: false,
    terminalCondition: {...failed('Ready'), reason: 'REVISION_FAILED'},
    conditions: [
      stillServing ? {type: 'RoutesReady', state: 'CONDITION_SUCCEEDED', lastTransitionTime: now} : failed('RoutesReady'),
      {...failed('ConfigurationsReady'), reason: 'REVISION_FAILED'},
    ],
  };
}

/** A revision's own conditions once its container started or failed. */
export function revisionConditions(readiness: {ready: boolean; message?: string}, now: Timestamp): Condition[] {
  if (readiness.ready) {
    return ['Ready', 'ContainerHealthy', 'ResourcesAvailable'].map((type) => ({
      type,
      state: 'CONDITION_SUCCEEDED',
      lastTransitionTime: now,
    }));
  }
  const failed = {state: 'CONDITION_FAILED', message: readiness.message, lastTransitionTime: now, severity: 'ERROR'};
  return [
    {type: 'Ready', ...failed, revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR'},
    {type: 'ContainerHealthy', ...failed, revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR'},
    {type: 'ResourcesAvailable', state: 'CONDITION_SUCCEEDED', lastTransitionTime: now},
  ];
}
