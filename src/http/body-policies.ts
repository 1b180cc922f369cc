/**
 * What each function answers to a request it cannot use (see body-guard.ts). The API answers
 * 400/413/415 in its Google-shaped error format. The event function acknowledges (204) with an
 * ERROR log line: Pub/Sub push redelivers every answer but 102, 200, 201, 202 and 204 — a 4xx
 * included — for up to seven days, and a body that cannot be read now never will be.
 */
import type {IncomingMessage, ServerResponse} from 'node:http';
import type {Logger} from '../log';
import type {BodyPolicy} from './body-guard';
import {ApiError} from './errors';
import type {BodyLimits, BodyProblem} from './json-body';

/** Largest accepted API request body. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The API's bodies: small JSON objects. */
export const API_BODY_LIMITS: BodyLimits = {maxBytes: MAX_BODY_BYTES, maxDepth: 32, types: ['application/json']};

/**
 * Event bodies: a Pub/Sub message is at most 10 MB, base64 in a push envelope about 13.4 MB;
 * Cloud Run takes at most 32 MiB per HTTP/1 request anyway.
 */
export const EVENT_BODY_LIMITS: BodyLimits = {
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 64,
  types: ['application/json', 'application/cloudevents+json'],
};

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.slice(0, 200);
};

function sendJson(res: ServerResponse, e: ApiError): void {
  if (res.headersSent) return;
  res.statusCode = e.httpStatus;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(e.body()));
}

/** The HTTP API's policy: the problem's status, in the API's error shape. */
export function apiBodyPolicy(log: Logger): BodyPolicy {
  return {
    limits: API_BODY_LIMITS,
    refuse(req, res, problem) {
      log.info(`API ${req.method} request refused (${problem.status}): ${problem.reason}`, {path: req.url?.slice(0, 200)});
      sendJson(res, new ApiError(problem.status, 'INVALID_ARGUMENT', problem.reason));
    },
    fail(req, res, err) {
      if (err === undefined) {
        sendJson(res, ApiError.notFound(`no API method at ${req.method} ${req.url?.slice(0, 200)}`));
        return;
      }
      const status = httpStatusOf(err);
      if (status === undefined) {
        log.error(`API ${req.method} request failed in the Functions Framework: ${describe(err)}`, {path: req.url?.slice(0, 200)});
        sendJson(res, new ApiError(500, 'INTERNAL', 'the request could not be handled; retry, and report it if it persists'));
        return;
      }
      log.info(`API ${req.method} request refused (${status}) by the Functions Framework: ${describe(err)}`, {
        path: req.url?.slice(0, 200),
      });
      sendJson(
        res,
        new ApiError(status, status === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `the request could not be read: ${describe(err)}`),
      );
    },
  };
}

/** The event function's policy: acknowledge, and say in the log what was dropped and why. */
export function eventBodyPolicy(log: Logger): BodyPolicy {
  const drop = (req: IncomingMessage, res: ServerResponse, reason: string, bytes?: number) => {
    log
      .with({eventId: header(req, 'ce-id'), eventType: header(req, 'ce-type')})
      .error(`event dropped (acknowledged, never redelivered): ${reason}`, {
        path: req.url?.slice(0, 200),
        contentType: header(req, 'content-type'),
        ...(bytes !== undefined ? {bytes} : {}),
      });
    if (res.headersSent) return;
    res.statusCode = 204;
    res.end();
  };
  return {
    limits: EVENT_BODY_LIMITS,
    check: objectBody,
    refuse: (req, res, problem, bytes) => drop(req, res, problem.reason, bytes),
    fail(req, res, err) {
      if (err === undefined) {
        // Not a delivery (deliveries are POSTs): nothing to acknowledge.
        sendJson(res, ApiError.notFound(`the event function takes CloudEvents and Pub/Sub push messages by POST, not ${req.method}`));
        return;
      }
      drop(req, res, `the request could not be turned into a CloudEvent by the Functions Framework: ${describe(err)}`);
    },
  };
}

/** Events are JSON objects (a CloudEvent, its data, or a Pub/Sub push envelope). */
function objectBody(value: unknown): BodyProblem | undefined {
  if (value === undefined || (value !== null && typeof value === 'object' && !Array.isArray(value))) return undefined;
  return {status: 400, reason: 'the body is not a JSON object; send a CloudEvent or a Pub/Sub push message'};
}

function httpStatusOf(err: unknown): number | undefined {
  const status = (err as {status?: unknown; statusCode?: unknown} | null)?.status ?? (err as {statusCode?: unknown} | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
