import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db.ts';
import type { Logger } from './logger.ts';

export const SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));

/** Any constant works; it only has to be the same in every process of the project. */
const MIGRATION_LOCK_KEY = 0x756e696d616c; // "unimal"

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
  checksum: string;
  content: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function readMigrations(dir = SQL_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (!m) throw new MigrationError(`${file}: migration files are named NNNN_snake_name.sql`);
    const content = await readFile(path.join(dir, file), 'utf8');
    const version = Number(m[1]);
    if (migrations.some((x) => x.version === version)) {
      throw new MigrationError(`${file}: version ${m[1]} is used twice`);
    }
    migrations.push({
      version,
      name: m[2]!,
      file,
      content,
      checksum: createHash('sha256').update(content).digest('hex'),
    });
  }
  return migrations;
}

/**
 * Applies pending migrations in order, in one transaction, under an advisory
 * lock so that nodes starting together apply each file exactly once. A file that
 * was applied and has changed since is an error: migrations are forward-only.
 */
export async function migrate(
  sql: Sql,
  options: { dir?: string; logger?: Logger } = {},
): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(options.dir);
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const rows = await tx<{ version: number; name: string; checksum: string }[]>`
      select version, name, checksum from schema_migrations order by version`;
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const m of migrations) {
      const row = done.get(m.version);
      if (row) {
        if (row.checksum !== m.checksum || row.name !== m.name) {
          throw new MigrationError(
            `${m.file} was changed after it was applied (checksum ${row.checksum.slice(0, 12)} ` +
              `in the database, ${m.checksum.slice(0, 12)} on disk); add a new migration instead`,
          );
        }
        continue;
      }
      try {
        await tx.unsafe(m.content);
      } catch (err) {
        throw new MigrationError(`${m.file} failed: ${(err as Error).message}`);
      }
      await tx`
        insert into schema_migrations (version, name, checksum)
        values (${m.version}, ${m.name}, ${m.checksum})`;
      applied.push(m.file);
    }
    const known = new Set(migrations.map((m) => m.version));
    const unknown = rows.filter((r) => !known.has(r.version));
    if (unknown.length > 0) {
      options.logger?.warn(
        { versions: unknown.map((r) => r.version) },
        'the database has migrations this code does not know (a newer release ran here)',
      );
    }
  });
  if (applied.length > 0) options.logger?.info({ applied }, 'migrations applied');
  return { applied };
}
