import type { IncomingMessage } from 'node:http';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import { secureHeaders } from 'hono/secure-headers';
import type { Deps } from '../deps.ts';
import { AppError, clientAbort, toAppError } from '../errors.ts';
import { createOpsRoutes } from './ops.ts';
import type { AppEnv } from './types.ts';

const HTTP_EXCEPTION_CODES: Record<number, AppError['code']> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** Hono's own exceptions (malformed JSON, wrong media type, body limit) in the contract's shape. */
function fromHttpException(err: HTTPException): AppError {
  const code =
    HTTP_EXCEPTION_CODES[err.status] ?? (err.status >= 500 ? 'internal' : 'validation_failed');
  const message =
    err.status === 413
      ? 'request body too large'
      : err.status === 415
        ? 'unsupported content type: send application/json'
        : err.message || 'bad request';
  return new AppError(code, message, { cause: err });
}

export interface HttpAppOptions {
  /** The API (server role); the ops routes are always there. */
  api?: Hono<AppEnv> | OpenAPIHono<AppEnv>;
}

/**
 * The HTTP app of one process: request ids, logs, metrics, security headers,
 * the contract's error format for everything (unknown routes included), ops
 * routes, and the API when this process plays the server role.
 */
export function createHttpApp(deps: Deps, options: HttpAppOptions = {}): Hono<AppEnv> {
  const { config, logger, metrics } = deps;
  const app = new Hono<AppEnv>();

  app.use(
    requestId({
      // Accept an upstream id (from the reverse proxy) when it looks sane.
      generator: () => crypto.randomUUID(),
      limitLength: 128,
    }),
  );

  app.use(async (c, next) => {
    const started = performance.now();
    const log = logger.child({ reqId: c.get('requestId') });
    c.set('log', log);
    await next();
    const seconds = (performance.now() - started) / 1000;
    // Time spent in this process, for clients and load tests to tell it from the network's.
    c.res.headers.set('Server-Timing', `app;dur=${(seconds * 1000).toFixed(2)}`);
    // A stopping node answers what reaches it and lets the connection go with the answer,
    // so the proxy opens its next one to a node that stays (see node.ts).
    if (deps.lifecycle.shuttingDown) c.res.headers.set('Connection', 'close');
    // After next() the route index points at the last handler that ran; when that
    // is a middleware, no route matched (bounded label cardinality either way).
    const matched = matchedRoutes(c).at(c.req.routeIndex);
    const route = matched && matched.method !== 'ALL' ? matched.path : 'unmatched';
    metrics.httpDuration.observe(
      { method: c.req.method, route, status: String(c.res.status) },
      seconds,
    );
    const level = c.res.status >= 500 ? 'error' : 'info';
    log[level](
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 10_000) / 10,
      },
      'request',
    );
  });

  app.use(secureHeaders({ crossOriginResourcePolicy: 'cross-origin' }));
  if (config.corsOrigins.length > 0) {
    app.use('/api/*', cors({ origin: config.corsOrigins, maxAge: 600, credentials: false }));
  }
  const limitBody = bodyLimit({
    maxSize: config.bodyLimit,
    onError: () => {
      throw new AppError('payload_too_large', `request body exceeds ${config.bodyLimit} bytes`);
    },
  });
  // Multipart bodies (photo uploads) are streamed and bounded by their route; every
  // JSON route refuses them by content type before reading a byte. A GET or HEAD has no
  // body to bound, and asking (`c.req.raw.body`) would build the whole fetch Request the
  // adapter otherwise leaves unbuilt (8% of a read's CPU in a profile).
  app.use('/api/*', (c, next) =>
    c.req.method === 'GET' ||
    c.req.method === 'HEAD' ||
    /^multipart\/form-data/i.test(c.req.header('content-type') ?? '')
      ? next()
      : limitBody(c, next),
  );

  app.route('/', createOpsRoutes(deps));
  if (options.api) app.route('/', options.api);

  app.notFound((c) =>
    c.json(new AppError('not_found', `no route for ${c.req.method} ${c.req.path}`).toJSON(), 404),
  );

  app.onError((thrown, c) => {
    // The client broke off its request (an aborted body, or framing Node's parser refused,
    // which closes the socket): its doing, so 400 and a debug line, never a 5xx or an error.
    // Told from the request's own state, never from the error alone: a storage server that
    // resets a response raises the very same `aborted`, and that is a dependency failing.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const clientGone =
      !(thrown instanceof AppError) &&
      incoming !== undefined &&
      !incoming.complete &&
      (incoming.destroyed || incoming.errored !== null);
    const err = clientGone
      ? clientAbort(thrown)
      : thrown instanceof HTTPException
        ? fromHttpException(thrown)
        : toAppError(thrown);
    const log = c.get('log') ?? logger;
    if (clientGone)
      log.debug({ reason: (thrown as Error)?.message }, 'client broke off the request');
    else if (err.report) log.error({ err: err.cause ?? err, code: err.code }, 'request failed');
    if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
    // The rest of an oversized body is never read: say the connection ends here, so a
    // client's pool opens a new one instead of reusing a socket about to be dropped.
    if (err.status === 413) c.header('Connection', 'close');
    return c.json(err.toJSON(), err.status as 400);
  });

  return app;
}
