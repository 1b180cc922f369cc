/**
 * Warms a gax client's message codecs before its first request. protobufjs builds a message
 * type's encoder, decoder and converters on the first message of that type (and of each nested
 * type it meets): a few ms for a Build or a Service, which a first CreateBuild or CreateService
 * otherwise pays inside its request (10–20 ms measured in the local stack). An instance that
 * preloads its clients runs the stub's own serializers once on messages shaped like the
 * controller's instead. No request is made; a stub of another shape (REST mode) is left as it is.
 */
import type {Config} from '../config';
import {buildSpec} from '../releases/build-request';
import {installationId, planDeploy, type RunService} from '../releases/service-spec';

/** One method's sample messages: the request it sends, the response it decodes. */
export interface CodecSample {
  method: string;
  request?: object;
  response?: object;
}

interface MethodCodecs {
  requestSerialize?(value: object): Buffer;
  responseSerialize?(value: object): Buffer;
  responseDeserialize?(bytes: Buffer): unknown;
}

/** Runs `stub`'s serializers (a grpc-js client: its constructor's `service` definition) on `samples`. */
export async function warmCodecs(stub: Promise<unknown> | undefined, samples: CodecSample[]): Promise<void> {
  let service: Record<string, MethodCodecs | undefined> | undefined;
  try {
    service = ((await stub) as {constructor?: {service?: Record<string, MethodCodecs>}} | undefined)?.constructor?.service;
  } catch {
    return; // the client's own first request reports a stub that cannot be made
  }
  if (!service) return;
  for (const {method, request, response} of samples) {
    const m = service[method];
    try {
      if (request) m?.requestSerialize?.(request);
      if (response && m?.responseSerialize && m.responseDeserialize) m.responseDeserialize(m.responseSerialize(response));
    } catch {
      // Only a warm-up: the real request is checked by the real call.
    }
  }
}

/** CreateBuild and GetBuild messages shaped as the controller sends and reads them. */
export function cloudBuildSamples(config: Config): CodecSample[] {
  const spec = buildSpec(
    config,
    {service: 'warm-up', release: 1},
    {bucket: config.buckets[0] ?? 'warm-up', object: 'warm-up/source.tar.gz', generation: '1', functionTarget: 'warmUp'},
  );
  const time = {seconds: 1, nanos: 0};
  const build = {
    ...spec,
    id: 'warm-up',
    status: 'SUCCESS',
    logUrl: 'https://console.cloud.google.com/cloud-build/builds/warm-up',
    results: {images: [{name: spec.images[0], digest: `sha256:${'0'.repeat(64)}`}]},
    createTime: time,
    startTime: time,
    finishTime: time,
  };
  return [
    {method: 'CreateBuild', request: {projectId: config.projectId, build: spec}},
    {method: 'GetBuild', request: {projectId: config.projectId, id: 'warm-up'}, response: build},
  ];
}

/** CreateService, UpdateService and GetService messages shaped as the controller sends and reads them. */
export function cloudRunSamples(config: Config): CodecSample[] {
  const plan = planDeploy(
    undefined,
    config.service,
    {
      installation: installationId(config.firestore),
      release: 1,
      image: 'warm-up',
      sourceNote: 'gs://warm-up/warm-up#1',
      buildId: 'warm-up',
    },
    'warm-up',
  );
  const spec = plan.kind === 'create' ? plan.spec : ({} as RunService);
  const name = `projects/${config.projectId}/locations/${config.region}/services/warm-up`;
  const time = {seconds: 1, nanos: 0};
  const condition = {type: 'Ready', state: 'CONDITION_SUCCEEDED', lastTransitionTime: time};
  const live = {
    ...spec,
    name,
    uid: 'warm-up',
    generation: 1,
    etag: 'warm-up',
    uri: 'https://warm-up.a.run.app',
    createTime: time,
    updateTime: time,
    latestReadyRevision: `${name}/revisions/warm-up-00001`,
    latestCreatedRevision: `${name}/revisions/warm-up-00001`,
    terminalCondition: condition,
    conditions: [condition],
    traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}],
    trafficStatuses: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'warm-up-00001', percent: 100}],
  };
  return [
    {
      method: 'CreateService',
      request: {parent: `projects/${config.projectId}/locations/${config.region}`, serviceId: 'warm-up', service: spec},
    },
    {method: 'UpdateService', request: {service: live}},
    {method: 'GetService', request: {name}, response: live},
  ];
}
