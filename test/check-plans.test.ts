import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../core/db.ts';
import { explain, explainGeneric, queryRecorder, tableSizes } from '../loadtest/plans/explain.ts';
import { LARGE_TABLE_ROWS, planProblems } from '../loadtest/plans/verdict.ts';
import { createTestDatabase } from './helpers/context.ts';

// The verdict of npm run check:plans on real plans of a table of its own: 20,000 rows
// (past LARGE_TABLE_ROWS) with an index on id only, and a small one of 100 rows.
const recorder = queryRecorder();
let db: { drop: () => Promise<void> };
let sql: Sql;
let sizes: Map<string, number>;

beforeAll(async () => {
  const created = await createTestDatabase('plans');
  db = created;
  sql = postgres(created.url, { max: 1, onnotice: () => {}, debug: recorder.debug });
  await sql`create table probe (id int primary key, v int not null, pad text not null)`;
  await sql`
    insert into probe select i, i % 5000, repeat('x', 40) from generate_series(1, 20000) i`;
  await sql`create table small_probe (id int primary key, v int not null)`;
  await sql`insert into small_probe select i, i from generate_series(1, 100) i`;
  await sql`vacuum analyze probe, small_probe`;
  sizes = await tableSizes(sql, ['probe', 'small_probe']);
});
afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

/** Runs a query as an application would, then judges the statement it sent. */
async function judge(run: (s: Sql) => Promise<unknown>, s: Sql = sql, how = explain) {
  recorder.take();
  await run(s);
  const [sent] = recorder.take();
  const plan = await how(s, sent!);
  return { plan, problems: planProblems(plan, sizes) };
}

describe('check:plans verdict', () => {
  it('fails a seq scan of a large table and passes an index lookup in it', async () => {
    expect(sizes.get('probe')).toBeGreaterThan(LARGE_TABLE_ROWS);
    const scan = await judge((s) => s`select * from probe where v = ${4999}`);
    expect(scan.plan.nodeTypes).toContain('Seq Scan');
    expect(scan.plan.rowsReturned).toBe(4);
    expect(scan.plan.rowsRead).toBe(20_000);
    expect(scan.problems.join()).toMatch(/Seq Scan on probe/);

    const lookup = await judge((s) => s`select * from probe where id = ${4999}`);
    expect(lookup.plan.nodeTypes).toContain('Index Scan');
    expect(lookup.plan).toMatchObject({ rowsReturned: 1, rowsRead: 1 });
    expect(lookup.problems).toEqual([]);
  });

  it('fails an index walk that reads far more rows than it returns, passes one that does not', async () => {
    // Ordered by id and seq scans off: the primary key is walked and v filtered row by row.
    const walk = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      await tx`set local enable_bitmapscan = off`;
      return judge((s) => s`select * from probe where v = ${4999} order by id`, tx as never);
    });
    expect(walk.plan.nodeTypes).not.toContain('Seq Scan');
    expect(walk.plan.rowsReturned).toBe(4);
    expect(walk.plan.rowsRead).toBe(20_000);
    expect(walk.problems.join()).toMatch(/reads 20000 rows for 4/);

    const range = await judge(
      (s) => s`select * from probe where id > ${100} order by id limit ${20}`,
    );
    expect(range.plan.rowsReturned).toBe(20);
    expect(range.plan.rowsRead).toBe(20);
    expect(range.problems).toEqual([]);
  });

  it('lets a small table be read whole', async () => {
    const small = await judge((s) => s`select * from small_probe where v = ${7}`);
    expect(small.plan.nodeTypes).toContain('Seq Scan');
    expect(small.problems).toEqual([]);
  });

  it('judges the generic plan of a prepared statement too, with its parameters', async () => {
    const scan = await judge((s) => s`select * from probe where v = ${4999}`, sql, explainGeneric);
    expect(scan.plan).toMatchObject({ rowsReturned: 4, rowsRead: 20_000 });
    expect(scan.problems.join()).toMatch(/Seq Scan on probe/);
    const lookup = await judge(
      (s) => s`select * from probe where id = any(${[7, 8]}::int[]) and pad = ${'x'.repeat(40)}`,
      sql,
      explainGeneric,
    );
    expect(lookup.plan).toMatchObject({ rowsReturned: 2, rowsRead: 2 });
    expect(lookup.problems).toEqual([]);
    // Nothing is left prepared on the connection.
    expect(
      await sql`select count(*)::int as n from pg_prepared_statements where name = 'plan_check'`,
    ).toEqual([{ n: 0 }]);
  });
});
