import postgres from 'postgres';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;

export function createSql(
  config: Pick<Config, 'databaseUrl' | 'databasePoolSize'>,
  logger?: Logger,
): Sql {
  return postgres(config.databaseUrl, {
    max: config.databasePoolSize,
    connect_timeout: 5,
    idle_timeout: 60,
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
  });
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
