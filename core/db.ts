import postgres from 'postgres';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;

export function createSql(
  config: Pick<Config, 'databaseUrl' | 'databasePoolSize'>,
  logger?: Logger,
  /** Driver options on top of these (tests use a short `max_pipeline` to provoke pipelining). */
  // (`max_pipeline` is a driver option its type definitions leave out.)
  overrides: postgres.Options<Record<string, postgres.PostgresType>> & {
    max_pipeline?: number;
  } = {},
): Sql {
  const sql = postgres(config.databaseUrl, {
    max: config.databasePoolSize,
    connect_timeout: 5,
    idle_timeout: 60,
    // Seconds between a connection's reconnect attempts after it closed. The driver's own
    // grows as 3^n/100 up to 20 s, counted across the pool: a three-second PostgreSQL
    // restart under load left nodes waiting 8 to 11 s more before their first query.
    // At most a second here (with jitter), so a node is back within a second of it.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 1),
    // Transactions are explicit; a prepared statement cache per connection is fine
    // as long as no transaction-pooling proxy sits in between (documented in README).
    prepare: true,
    onnotice: (notice) => logger?.debug({ notice: notice.message }, 'postgres notice'),
    types: {
      // int8 (count(*) and friends) as JS numbers: counts here stay far below 2^53.
      int8: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => value.toString(),
        parse: (value: string) => Number(value),
      },
    },
    transform: { undefined: null },
    connection: { application_name: 'unimal' },
    ...overrides,
  });
  return withReservedTransactions(sql);
}

type BeginFn = (tx: TxSql) => unknown;

/**
 * Replaces `sql.begin` with one that runs the transaction on a connection taken
 * with `sql.reserve()` first, working around a postgres.js 3.4.9 bug (the latest
 * release; porsager/postgres#823, #1189, #1210, unmerged fix #1207).
 *
 * The bug: `sql.begin` sends `BEGIN` through the shared pool and marks the
 * connection as its own only in an `onexecute` callback, which `execute()` in
 * src/connection.js calls at the tail of an `&&` chain after `write(...)` and
 * `sent.length < max_pipeline`. When `BEGIN` is pipelined onto a busy connection
 * as the query that fills its pipeline (or when the socket reports backpressure),
 * the callback is skipped: `BEGIN` still runs, the driver rejects it with
 * `UNSAFE_TRANSACTION` and hands the connection, now inside a transaction, back
 * to the pool. Under load (many requests queued on a small pool) that is a few
 * 500s per ten thousand requests, and other requests' statements then run inside
 * that stray transaction until some later COMMIT.
 *
 * `sql.reserve()` takes only an idle connection and marks it synchronously, before
 * anything is sent, so `BEGIN` is never seen on an unreserved connection. The rest
 * keeps `sql.begin`'s contract: BEGIN with the same options, the callback's value
 * (an array of queries awaited together), ROLLBACK and rethrow on error, and a
 * transaction that the server aborted (an error the callback swallowed) is an
 * error rather than a silent rollback. Savepoints are not supported (unused here).
 * Remove this once a fixed postgres.js is released (core/db.test.ts has a canary).
 */
export function withReservedTransactions(sql: Sql): Sql {
  const begin = async (options: string | BeginFn, fn?: BeginFn): Promise<unknown> => {
    const callback = typeof options === 'function' ? options : fn;
    const mode = typeof options === 'string' ? options.replace(/[^a-z ]/gi, '') : '';
    if (!callback) throw new TypeError('sql.begin needs a callback');
    const conn = await sql.reserve();
    // Hand the connection back only while the server answers: after a connection
    // error postgres.js has already moved it to its closed ones, and releasing it
    // would put a dead connection back into the pool.
    let alive = true;
    const run = async (statement: string) => {
      try {
        return await conn.unsafe(statement);
      } catch (err) {
        alive = err instanceof postgres.PostgresError;
        throw err;
      }
    };
    try {
      await run(`begin ${mode}`);
      let result: unknown;
      try {
        const tx = Object.assign(conn, {
          savepoint: () => Promise.reject(new Error('savepoints are not supported')),
          prepare: () => {
            throw new Error('prepared transactions are not supported');
          },
        }) as unknown as TxSql;
        const value = callback(tx);
        result = await (Array.isArray(value) ? Promise.all(value) : value);
      } catch (err) {
        // The callback's error is the one to report, also when the rollback fails with it.
        await run('rollback').catch(() => {});
        throw err;
      }
      // COMMIT of a transaction that an error aborted answers ROLLBACK, not an error.
      const done = await run('commit');
      if (done.command === 'ROLLBACK') {
        throw new Error('the transaction was rolled back: a statement in it failed');
      }
      return result;
    } finally {
      if (alive) conn.release();
    }
  };
  return Object.assign(sql, { begin }) as Sql;
}

/**
 * Creates the database named in the URL when it does not exist, by connecting to
 * the maintenance database `postgres` on the same server. Safe when several
 * processes race: a concurrent creation counts as success.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return false;
  url.pathname = '/postgres';
  const admin = postgres(url.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 as ok from pg_database where datname = ${name}`;
    if (row) return false;
    try {
      await admin.unsafe(`create database ${quoteIdent(name)}`);
      return true;
    } catch (err) {
      // 42P04 duplicate_database, 23505 a concurrent create of the same name
      const code = (err as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw err;
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
