/**
 * Entry point: registers the function targets with the Functions Framework. Wiring only.
 */
import * as functions from '@google-cloud/functions-framework';
import {createDeps} from './composition';
import {parseConfig} from './config';
import {handleEvent} from './controller/handle-event';
import {handleHttp} from './http/api';
import {Logger, stdoutSink} from './log';

const config = parseConfig(process.env);
const deps = createDeps(config);
const log = new Logger(stdoutSink(config.logFormat));

/** The event function: uploads (Eventarc or Pub/Sub) and Cloud Build statuses. */
functions.cloudEvent('dropdeployEvents', async (event: functions.CloudEvent<unknown>) => {
  await handleEvent(deps, event, log);
});

/** The HTTP function: the operator API. */
functions.http('dropdeployApi', (req, res) => handleHttp(deps, req, res, log));
