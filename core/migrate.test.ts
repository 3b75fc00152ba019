import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/helpers/context.ts';
import { MigrationError, migrate, readMigrations } from './migrate.ts';

// A test database emptied of the migrated schema, and a folder of
// throwaway migrations, so the runner is tested on its own files.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase('migrate');
  sql = postgres(db.url, { max: 4, onnotice: () => {} });
  await sql.unsafe('drop schema public cascade; create schema public;');
  dir = mkdtempSync(path.join(tmpdir(), 'unimal-migrations-'));
});

afterAll(async () => {
  await sql.end();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const write = (file: string, content: string) => writeFileSync(path.join(dir, file), content);

describe('migrate', () => {
  it('applies pending files in order, once, even when several nodes start together', async () => {
    write('0001_first.sql', 'create table t1 (id int primary key);');
    write('0002_second.sql', 'insert into t1 values (1); create table t2 (id int);');
    const clients = [1, 2, 3].map(() => postgres(db.url, { max: 1, onnotice: () => {} }));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c, { dir })));
      const applied = results.flatMap((r) => r.applied);
      expect(applied).toEqual(['0001_first.sql', '0002_second.sql']);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const rows = await sql`select version, name from schema_migrations order by version`;
    expect(rows).toEqual([
      { version: 1, name: 'first' },
      { version: 2, name: 'second' },
    ]);
    expect(await sql`select id from t1`).toEqual([{ id: 1 }]);
    expect((await migrate(sql, { dir })).applied).toEqual([]);
  });

  it('refuses to run when an applied file has changed', async () => {
    write('0001_first.sql', 'create table t1 (id int primary key, extra text);');
    await expect(migrate(sql, { dir })).rejects.toThrow(
      /0001_first\.sql was changed after it was applied/,
    );
    write('0001_first.sql', 'create table t1 (id int primary key);');
  });

  it('rolls back a failing migration entirely', async () => {
    write('0003_broken.sql', 'create table t3 (id int); select no_such_function();');
    await expect(migrate(sql, { dir })).rejects.toThrow(MigrationError);
    const [row] = await sql`select to_regclass('t3') as t3`;
    expect(row!.t3).toBeNull();
    rmSync(path.join(dir, '0003_broken.sql'));
  });

  it('rejects badly named files and duplicate versions', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'unimal-bad-migrations-'));
    try {
      writeFileSync(path.join(bad, '1_first.sql'), 'select 1;');
      await expect(readMigrations(bad)).rejects.toThrow(/named NNNN_snake_name\.sql/);
      rmSync(path.join(bad, '1_first.sql'));
      writeFileSync(path.join(bad, '0001_a.sql'), 'select 1;');
      writeFileSync(path.join(bad, '0001_b.sql'), 'select 1;');
      await expect(readMigrations(bad)).rejects.toThrow(/used twice/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('the project migrations apply cleanly to an empty database', async () => {
    const fresh = await createTestDatabase('fresh');
    const c = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      await c.unsafe('drop schema public cascade; create schema public;');
      const { applied } = await migrate(c);
      expect(applied.length).toBe((await readMigrations()).length);
      expect(applied[0]).toBe('0001_accounts.sql');
      const [row] = await c`select gen_uuid_v7()::text as id`;
      expect(row!.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    } finally {
      await c.end();
      await fresh.drop();
    }
  });
});
