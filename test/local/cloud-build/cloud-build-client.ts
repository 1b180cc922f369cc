/**
 * Typed glue between the official CloudBuildClient and the tests that drive the emulator with it.
 */
import type {protos} from '@google-cloud/cloudbuild';
import type {BuildSpec} from '../../../src/releases/build-request';

/**
 * A BuildSpec as the client's request type: the client types the machine type as its enum, the
 * spec as the enum's name (the same on the wire).
 */
export function asClientBuild(spec: BuildSpec): protos.google.devtools.cloudbuild.v1.IBuild {
  return spec as protos.google.devtools.cloudbuild.v1.IBuild;
}

/** The id of the build a CreateBuild operation is for (the client types the operation's metadata loosely). */
export function operationBuildId(op: {metadata: unknown}): string {
  return (op.metadata as {build: {id: string}}).build.id;
}
