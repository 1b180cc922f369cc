/**
 * A deleted object: when it is a preview's archive, the preview goes (its tag is removed);
 * any other deletion needs nothing (the releases it made stay, as their images do).
 */
import type {DeletedInput} from '../events/input';
import {classifyObject} from '../releases/naming';
import type {Ctx, Outcome} from './deps';
import {removePreview} from './preview';

/** Handles one `deleted` event, by Eventarc or by an `OBJECT_DELETE` notification. */
export async function handleDeleted(ctx: Ctx, input: DeletedInput): Promise<Outcome> {
  const {deps} = ctx;
  const log = ctx.log.with({bucket: input.bucket, object: input.object, generation: input.generation});
  if (!deps.config.buckets.includes(input.bucket)) return {action: 'ignored', detail: 'bucket not allowed'};
  const named = classifyObject(input.object, deps.config.prefix, deps.config.controllerServices);
  if (named.kind !== 'source' || !named.preview) {
    log.info('deletion ignored: the object is not a preview archive');
    return {action: 'ignored', detail: 'a deleted object that is not a preview needs no action'};
  }
  const result = await removePreview({...ctx, log: log.with({service: named.service})}, named.service, named.preview, {
    actor: `gs://${input.bucket}/${input.object}#${input.generation} deleted`,
    generation: input.generation,
  });
  log.info(result.detail);
  return {action: result.removed ? 'preview_removed' : 'noop', detail: result.detail, service: named.service};
}
