/**
 * The event function's body: decode, dispatch, and sort failures into "redeliver" (throw)
 * and "acknowledge" (return). Nothing that can never succeed is thrown.
 */
import {asDropdeployError} from '../errors';
import {decodeEvent, type EventLike} from '../events/decode';
import type {Logger} from '../log';
import {traceName} from '../log';
import {handleBuildStatus} from './build-status';
import {handleDeleted} from './deleted';
import {newCtx, type Deps, type Outcome} from './deps';
import {handleUpload} from './upload';

/** A CloudEvent as the Functions Framework hands it over. */
export interface IncomingEvent extends EventLike {
  id?: string;
  source?: string;
  traceparent?: unknown;
  [extension: string]: unknown;
}

/** Handles one CloudEvent; throws only when a redelivery may succeed. */
export async function handleEvent(deps: Deps, event: IncomingEvent, root: Logger): Promise<Outcome> {
  const trace = traceName(deps.config.projectId, typeof event.traceparent === 'string' ? event.traceparent : undefined);
  const log = root.withTrace(trace).with({eventId: event.id, eventType: event.type});
  const input = decodeEvent(event);
  try {
    switch (input.kind) {
      case 'invalid':
        log.error(`event dropped: ${input.reason}`, {eventSource: event.source});
        return {action: 'invalid', detail: input.reason};
      case 'ignored':
        log.info(`event ignored: ${input.reason}`);
        return {action: 'ignored', detail: input.reason};
      case 'upload':
        return await handleUpload(newCtx(deps, log), input);
      case 'deleted':
        return await handleDeleted(newCtx(deps, log), input);
      case 'build':
        return await handleBuildStatus(newCtx(deps, log), input);
    }
  } catch (err) {
    const e = asDropdeployError(err, 'handling the event');
    if (e.retryable) {
      log.warn(`event will be redelivered: ${e.message}`, {code: e.code});
      throw e;
    }
    log.error(`event failed permanently and is acknowledged: ${e.message}`, {code: e.code});
    return {action: 'failed', detail: e.message};
  }
}
