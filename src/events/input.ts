/**
 * What an incoming event means to the controller, whatever shape it arrived in.
 */
import type {Source} from '../releases/release';

/** A new generation of an object landed in a bucket. */
export interface UploadInput {
  kind: 'upload';
  /** How it arrived: Eventarc direct from Cloud Storage, a GCS notification through Pub/Sub, or found by the reconciler. */
  via: 'storage' | 'pubsub' | 'reconciler';
  source: Source;
  /** Raw custom metadata of the object (function target and signature type live here). */
  metadata: Record<string, string>;
}

/** An object generation was deleted (or replaced, in a bucket without versioning). */
export interface DeletedInput {
  kind: 'deleted';
  via: 'storage' | 'pubsub';
  bucket: string;
  object: string;
  generation: string;
}

/** A Cloud Build status change. */
export interface BuildInput {
  kind: 'build';
  via: 'pubsub' | 'eventarc';
  buildId: string;
  status: string;
  tags: string[];
  substitutions: Record<string, string>;
}

/** An event that is understood and needs nothing (a delete notification, say). */
export interface IgnoredInput {
  kind: 'ignored';
  reason: string;
}

/** An event that can never be handled: malformed, unknown type, missing fields. */
export interface InvalidInput {
  kind: 'invalid';
  reason: string;
}

/** Every outcome of decoding an event. */
export type Input = UploadInput | DeletedInput | BuildInput | IgnoredInput | InvalidInput;
