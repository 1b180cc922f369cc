import type {PlainMessage} from '../grpc/protos';
import type {Timestamp} from '../grpc/time';

/** One pushed image of a successful build (`google.devtools.cloudbuild.v1.BuiltImage`). */
export type BuiltImage = {name: string; digest: string};

/**
 * A `google.devtools.cloudbuild.v1.Build` as the emulator stores it, in plain form. The fields
 * the emulator sets are named; the rest (steps, source, images, tags, ...) are kept as the
 * client sent them, to be read with the readers in local/grpc/fields.
 */
export type StoredBuild = PlainMessage & {
  name: string;
  id: string;
  projectId: string;
  status: string;
  createTime: Timestamp;
  logUrl: string;
  startTime?: Timestamp;
  finishTime?: Timestamp;
  statusDetail?: string;
  results?: {images: BuiltImage[]};
  failureInfo?: {type: string; detail: string};
};
