import {toProto3Json} from '../grpc/json-mapping';
import type {PlainMessage} from '../grpc/protos';

/** A Build in the JSON form Cloud Build publishes on the `cloud-builds` topic. */
export type BuildJson = {id: string; projectId: string; status: string} & Record<string, unknown>;

/** The stored Build in Cloud Build's JSON form (proto3 JSON mapping of `google.devtools.cloudbuild.v1.Build`). */
export function buildToJson(build: PlainMessage): BuildJson {
  return toProto3Json('google.devtools.cloudbuild.v1.Build', build) as BuildJson;
}

/** The part of a @google-cloud/pubsub Topic that publishing needs. */
export interface PublishTarget {
  publishMessage(message: {data: Buffer; attributes: Record<string, string>}): Promise<unknown>;
}

/**
 * An `onStatus` callback that publishes each build status change the way Cloud Build does on
 * the `cloud-builds` topic: data = the Build as JSON, attributes `buildId` and `status`.
 */
export function publishToCloudBuildsTopic(topic: PublishTarget): (build: BuildJson) => Promise<void> {
  return async (build) => {
    await topic.publishMessage({
      data: Buffer.from(JSON.stringify(build)),
      attributes: {buildId: build.id, status: build.status},
    });
  };
}
