import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { type ParsedConfig, resolveConfig } from './core/config.ts';
import { createSql, ensureDatabase } from './core/db.ts';
import { closeDeps, createDeps, type Deps } from './core/deps.ts';
import { startEmbeddedStore } from './core/embedded-store.ts';
import { createHttpApp } from './core/http/app.ts';
import { createLogger, type Logger } from './core/logger.ts';
import { migrate } from './core/migrate.ts';
import { connectRedis } from './core/redis.ts';
import type { RunningRole } from './core/roles.ts';
import { createStorage } from './core/storage.ts';
import { startGateway } from './gateway/index.ts';
import { createApi } from './server/api.ts';
import { ensureDemoAccount } from './server/demo-account.ts';
import { createStorageRoutes } from './server/routes/storage.ts';
import { startWorkers } from './workers/index.ts';

export interface RunningNode {
  port: number;
  deps: Deps;
  httpServer: Server;
  stop(): Promise<void>;
}

/** `host:port/database` of a PostgreSQL URL, never its user or password: safe to log. */
export function databaseTarget(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname || '/'}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Waits for PostgreSQL at start (a compose stack starts everything at once), then gives up clearly. */
async function prepareDatabase(config: ParsedConfig, logger: Logger): Promise<void> {
  const deadline = Date.now() + config.databaseConnectTimeoutMs;
  const target = databaseTarget(config.databaseUrl);
  for (let attempt = 1; ; attempt++) {
    try {
      if (config.databaseCreate && (await ensureDatabase(config.databaseUrl))) {
        logger.info('database created');
      }
      if (!config.migrateOnStart) return;
      const sql = createSql({ ...config, databasePoolSize: 1 }, logger);
      try {
        await migrate(sql, { logger });
      } finally {
        await sql.end({ timeout: 5 });
      }
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const transient = code === 'ECONNREFUSED' || code === 'CONNECT_TIMEOUT' || code === '57P03';
      if (!transient) throw err;
      if (Date.now() > deadline) {
        logger.warn(
          { attempt, code, database: target },
          `PostgreSQL at ${target} not reachable after ${config.databaseConnectTimeoutMs} ms (DATABASE_CONNECT_TIMEOUT); giving up`,
        );
        throw err;
      }
      logger.warn(
        { attempt, code, database: target },
        `PostgreSQL at ${target} not reachable yet; retrying`,
      );
      await new Promise((r) => setTimeout(r, Math.min(attempt * 500, 3_000)));
    }
  }
}

/**
 * Starts one process: migrations, then the HTTP server on the configured port, the
 * configuration resolved for that port (resolveConfig), and the configured roles.
 */
export async function startNode(
  parsed: ParsedConfig,
  options: { logger?: Logger } = {},
): Promise<RunningNode> {
  const logger = options.logger ?? createLogger(parsed);
  await prepareDatabase(parsed, logger);

  // No S3 endpoint configured: an embedded S3-compatible store, so a newcomer needs nothing
  // else. It listens on no port: clients reach it only through this app's /storage route.
  const embedded = parsed.s3.embedded
    ? await startEmbeddedStore({
        directory: path.join(parsed.dataDir, 's3'),
        dataDir: parsed.dataDir,
        ...(parsed.s3.accessKeyId && parsed.s3.secretAccessKey
          ? {
              credentials: {
                accessKeyId: parsed.s3.accessKeyId,
                secretAccessKey: parsed.s3.secretAccessKey,
              },
            }
          : {}),
      })
    : undefined;
  if (embedded) logger.info({ uploads: '/storage' }, 'embedded S3-compatible server started');

  // Listen first: the configuration's defaults that depend on the real port (PORT=0) are
  // known then, before anything is built from it. Requests that arrive meanwhile wait for
  // the app rather than fail: until now the port was closed, which the proxy retries
  // elsewhere, where it would hand a 503 to the client.
  let app: ReturnType<typeof createHttpApp> | undefined;
  let appBuilt!: (built: ReturnType<typeof createHttpApp>) => void;
  const appReady = new Promise<ReturnType<typeof createHttpApp>>((resolve) => {
    appBuilt = resolve;
  });
  const httpServer = await new Promise<Server>((resolve, reject) => {
    const server = serve(
      {
        fetch: (req, env) =>
          app ? app.fetch(req, env) : appReady.then((built) => built.fetch(req, env)),
        port: parsed.port,
        hostname: parsed.host,
      },
      () => resolve(server as Server),
    ) as Server;
    server.once('error', reject);
  });
  // Keep-alive sockets outliving the reverse proxy's idle timeout cause spurious 502s.
  httpServer.keepAliveTimeout = 65_000;
  // Broken HTTP framing (a chunk size that is not hex, a malformed header) is the client's
  // fault: a debug line and a 400 in the contract's shape, as Node's default handler would
  // answer but in JSON. The request it interrupts, if any, ends as a 400 too (core/http/app.ts).
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    logger.debug({ code: err.code, reason: err.message }, 'malformed request from a client');
    const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, text] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const body = JSON.stringify({
      error: {
        code: 'validation_failed',
        message: `malformed HTTP request (${err.code ?? 'parse error'})`,
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const port = (httpServer.address() as AddressInfo).port;
  const config = resolveConfig(parsed, { port });
  const deps = createDeps(config, {
    logger,
    ...(embedded ? { storage: createStorage(config, embedded) } : {}),
  });
  try {
    await deps.storage.ensureBucket();
  } catch (err) {
    // Not fatal: photo routes answer 503 until storage is reachable.
    logger.warn({ err: (err as Error).message }, 'object storage not reachable at start');
  }
  try {
    await connectRedis(deps.redis);
  } catch (err) {
    // Not fatal: the client keeps reconnecting and /readyz reports 503 meanwhile.
    logger.warn({ err: (err as Error).message }, 'Redis not reachable at start');
  }
  const api = config.roles.includes('server') ? createApi(deps) : undefined;
  if (api && embedded) api.route('/storage', createStorageRoutes(deps));
  app = createHttpApp(deps, { api });
  appBuilt(app);

  const roles: RunningRole[] = [];
  if (config.roles.includes('gateway')) roles.push(await startGateway({ deps, httpServer }));
  if (config.roles.includes('workers')) roles.push(await startWorkers({ deps, httpServer }));

  logger.info({ port, roles: config.roles }, `listening on http://${config.host}:${port}`);
  // Development only (DEMO_ACCOUNT): not fatal, the node serves without it.
  if (api && config.demoAccount) {
    await ensureDemoAccount(deps).catch((err: unknown) => {
      logger.warn({ err }, 'could not seed the demo account');
    });
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      deps.lifecycle.shuttingDown = true;
      logger.info('shutting down');
      // Stop listening (the proxy's next connect is refused, and it tries another node), but
      // leave idle keep-alive connections open: closing one can cross a request the proxy is
      // sending on it at that moment, and nginx may not retry a POST it has sent (a 502).
      // Responses from now on say `Connection: close` (core/http/app.ts), and the proxy
      // closes its idle connections itself (the edge's upstream keepalive_timeout, 4 s);
      // what is left after SHUTDOWN_IDLE_WAIT is closed here, the rest after SHUTDOWN_TIMEOUT.
      // (http.Server#close would close the idle connections at once: only the listener goes.)
      const closed = new Promise<void>((resolve) =>
        net.Server.prototype.close.call(httpServer, () => resolve()),
      );
      const idle = setTimeout(() => httpServer.closeIdleConnections(), config.shutdownIdleWaitMs);
      // Roles first (gateway tells clients to reconnect elsewhere, workers finish their batch).
      await Promise.allSettled(roles.map((r) => r.stop()));
      const timer = setTimeout(() => httpServer.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      clearTimeout(idle);
      // http.Server#close also clears the timer that checks connections for timeouts,
      // which closing the listener alone left running; the server is closed already, so
      // its callback only hears ERR_SERVER_NOT_RUNNING.
      httpServer.close(() => {});
      await closeDeps(deps);
      await embedded?.close();
      logger.info('stopped');
    })());

  return { port, deps, httpServer, stop };
}
