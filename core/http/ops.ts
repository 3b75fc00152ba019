import { Hono } from 'hono';
import type { Deps } from '../deps.ts';
import { redisProblem } from '../redis.ts';
import type { AppEnv } from './types.ts';

const CHECK_TIMEOUT_MS = 1_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

async function check(
  op: () => Promise<unknown>,
  describe: (err: unknown) => string = (err) => (err instanceof Error ? err.message : String(err)),
): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(op(), CHECK_TIMEOUT_MS);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

/** `/healthz`, `/readyz` and `/metrics`, served by every role on its port. */
export function createOpsRoutes(deps: Deps): Hono<AppEnv> {
  const ops = new Hono<AppEnv>();

  ops.get('/healthz', (c) => c.json({ status: 'ok' }));

  ops.get('/readyz', async (c) => {
    const [postgres, redis] = await Promise.all([
      check(() => deps.sql`select 1`),
      // While Redis is away the node keeps serving what it can and keeps reconnecting;
      // the reason reads "unreachable (redis://host:port/db)", not ioredis' own wording.
      check(
        () => deps.redis.ping(),
        (err) => redisProblem(deps.redis, err),
      ),
    ]);
    // The roles' own conditions, such as a gateway whose push subscription is not back yet.
    const roles: Record<string, { ok: boolean; error?: string }> = {};
    await Promise.all(
      [...(deps.lifecycle.checks ?? [])].map(async ([name, problem]) => {
        const error = await withTimeout(problem(), CHECK_TIMEOUT_MS).catch((err: unknown) =>
          err instanceof Error ? err.message : String(err),
        );
        roles[name] = error === undefined ? { ok: true } : { ok: false, error };
      }),
    );
    const ready =
      postgres.ok &&
      redis.ok &&
      Object.values(roles).every((r) => r.ok) &&
      !deps.lifecycle.shuttingDown;
    return c.json(
      {
        status: ready ? 'ready' : deps.lifecycle.shuttingDown ? 'shutting_down' : 'unavailable',
        checks: { postgres, redis, ...roles },
      },
      ready ? 200 : 503,
    );
  });

  ops.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  return ops;
}
