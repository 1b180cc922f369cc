/**
 * Entry point: registers the function targets with the Functions Framework. Wiring only.
 */
import * as functions from '@google-cloud/functions-framework';
import {createDeps, preloadClients} from './composition';
import {describeError} from './errors';
import {parseConfig} from './config';
import {handleEvent} from './controller/handle-event';
import {Reconciler} from './controller/reconcile';
import {handleHttp} from './http/api';
import {guardServedFunction, servedTarget} from './http/body-guard';
import {apiBodyPolicy, eventBodyPolicy} from './http/body-policies';
import {Logger, stdoutSink} from './log';

const config = parseConfig(process.env);
const deps = createDeps(config);
const log = new Logger(stdoutSink(config.logFormat));
/**
 * Settled once the clients are preloaded (DROPDEPLOY_PRELOAD_CLIENTS), at once otherwise. The
 * Functions Framework listens meanwhile; a host that should take traffic only when warm (the
 * local stack's) waits for it before listening.
 */
export const preloaded: Promise<void> = config.preloadClients
  ? preloadClients(deps).catch((err: unknown) => {
      log.warn(`preloading the client libraries failed; each loads on first use instead: ${describeError(err)}`);
    })
  : Promise.resolve();

/**
 * The event function: uploads (Eventarc or Pub/Sub) and Cloud Build statuses.
 *
 * It leaves the `domain` the Functions Framework runs each request in: the domain's async hooks
 * tag every promise made inside it, about a sixth of this function's CPU per event (bench/).
 * Every step here is awaited, so a failure still reaches the framework as a rejection; only a
 * truly uncaught exception now goes to the framework's process handler, which answers 500 and
 * restarts the instance (the event is redelivered) instead of carrying on after it.
 */
functions.cloudEvent('dropdeployEvents', async (event: functions.CloudEvent<unknown>) => {
  (process as {domain?: {exit(): void}}).domain?.exit();
  await handleEvent(deps, event, log);
});

/** The HTTP function: the operator API. */
functions.http('dropdeployApi', (req, res) => handleHttp(deps, req, res, log));

const reconciler = new Reconciler(deps, log);

/**
 * The reconciler, run by Cloud Scheduler every minute (an authenticated HTTP target; the
 * request's body is not read). Answers what it did; a failure answers 500 and the next run
 * tries again.
 */
functions.http('dropdeployReconcile', async (_req, res) => {
  try {
    res.json(await reconciler.run());
  } catch (err) {
    log.error(`reconcile run failed: ${(err as Error).message ?? String(err)}`);
    res.status(500).json({
      error: {
        code: 500,
        status: 'UNAVAILABLE',
        message: `the reconcile run failed: ${(err as Error).message ?? String(err)}; the next run tries again`,
      },
    });
  }
});

/**
 * Bodies are read and checked before the framework parses them (its parsers take up to 1 GB and
 * answer in HTML): each target's policy in front of the server the framework starts for it.
 * The target is the framework's own setting (--target or FUNCTION_TARGET), not dropdeploy's.
 */
guardServedFunction(
  {dropdeployEvents: eventBodyPolicy(log), dropdeployApi: apiBodyPolicy(log), dropdeployReconcile: apiBodyPolicy(log)},
  servedTarget(process.argv, process.env),
);
