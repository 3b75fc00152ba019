// `npm run check:plans`: EXPLAIN (ANALYZE, BUFFERS) of every list query of the API on a
// database seeded at scale, with the seed's hard shapes as inputs, under the plan made
// for the parameters' values (custom) and under the generic one a prepared statement may
// switch to. Prints a table per query and fails (exit code 1) when a plan reads a large
// table whole or reads far more rows than it returns (loadtest/plans/verdict.ts).
//
//   npm run check:plans -- --users=100000 --posts=1000000 --seed=42
//
// The database (PLANS_DATABASE_URL, default unimal_plans on the local server) is seeded
// when absent or seeded at another scale, and reused otherwise; pending migrations are
// applied on every run, so a new index is judged on the next run.

import postgres from 'postgres';
import { loadConfig } from '../core/config.ts';
import { createSql, ensureDatabase, quoteIdent } from '../core/db.ts';
import { migrate } from '../core/migrate.ts';
import { args } from './harness.ts';
import { planCases } from './plans/cases.ts';
import {
  explain,
  explainGeneric,
  type PlanSummary,
  queryRecorder,
  tableSizes,
} from './plans/explain.ts';
import { planProblems } from './plans/verdict.ts';
import { seed } from './seed.ts';
import { fixtureHandles } from './seed-fixtures.ts';

const SEED = Number(args.get('seed') ?? 42);
const USERS = Number(args.get('users') ?? 100_000);
const POSTS = Number(args.get('posts') ?? 1_000_000);
const DATABASE_URL =
  process.env.PLANS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unimal_plans';

/** Whether the database holds this seed at this scale, with its fixtures. */
async function seededAtScale(sql: ReturnType<typeof createSql>) {
  const prefix = `s${SEED}_`;
  const [row] = await sql<{ users: number; fixture: boolean }[]>`
    select (select count(*)::int from users where handle = ${`${prefix}${USERS}`}
        or handle = ${`${prefix}${USERS + 1}`}) as users,
      exists (select 1 from users where handle = ${fixtureHandles(prefix).inbox}) as fixture`;
  if (row?.users !== 1 || !row.fixture) return false;
  // Fixture posts come on top of the sightings.
  const [{ n } = { n: 0 }] = await sql<{ n: number }[]>`
    select count(*)::int as n from posts where client_id is null and body not like 'Quiet post %'`;
  return n === POSTS;
}

async function openDatabase() {
  const config = { ...loadConfig(), databaseUrl: DATABASE_URL, databasePoolSize: 2 };
  await ensureDatabase(DATABASE_URL);
  let sql = createSql(config);
  await migrate(sql, {});
  if (!(await seededAtScale(sql))) {
    // Its own database: start again from empty rather than add to another scale.
    await sql.end();
    const name = new URL(DATABASE_URL).pathname.slice(1);
    const admin = new URL(DATABASE_URL);
    admin.pathname = '/postgres';
    const a = postgres(admin.toString(), { max: 1, onnotice: () => {} });
    await a.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
    await a.end();
    await ensureDatabase(DATABASE_URL);
    sql = createSql(config);
    await migrate(sql, {});
    const started = performance.now();
    console.log(`seeding ${USERS} users and ${POSTS} posts (seed ${SEED}) into ${name}…`);
    await seed(sql, {
      seed: SEED,
      users: USERS,
      sightings: POSTS,
      fixtures: true,
      log: (l) =>
        console.log(`  ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  ${l}`),
    });
    console.log(`seeded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  return { config, sql };
}

const ms = (x: number) => `${x.toFixed(2)} ms`;

function row(input: string, p: PlanSummary, problems: string[]) {
  const scans = p.scans
    .map((s) => `${s.node} ${s.index ?? s.relation} (${s.rows})`)
    .filter((s, i, all) => all.indexOf(s) === i);
  return `| ${input} | ${ms(p.planningMs)} + ${ms(p.executionMs)}${p.jitMs > 0 ? ` (JIT ${ms(p.jitMs)})` : ''} | ${p.rowsReturned} | ${p.rowsRead} | ${p.sharedHit} / ${p.sharedRead} | ${p.nodeTypes.join(', ')} | ${scans.join('; ')} | ${problems.length ? `**FAIL**: ${problems.join('; ')}` : 'ok'} |`;
}

async function main() {
  const { config, sql } = await openDatabase();
  const recorder = queryRecorder();
  const recorded = createSql(config, undefined, { debug: recorder.debug });
  let failures = 0;
  try {
    // The driver reads the server's array types on its first query: not one of the cases'.
    await recorded`select 1`;
    const cases = await planCases(sql, `s${SEED}_`);
    const sizes = await tableSizes(sql, [
      'users',
      'posts',
      'follows',
      'comments',
      'likes',
      'photos',
      'notifications',
      'map_points',
      'map_cells',
    ]);
    console.log(
      `\n${[...sizes].map(([t, n]) => `${t} ${Math.round(n).toLocaleString('en')}`).join(', ')}`,
    );
    let current = '';
    for (const c of cases) {
      if (c.query !== current) {
        current = c.query;
        console.log(`\n### ${c.query}\n`);
        console.log(
          '| input · page | planning + execution | rows returned | rows read | shared hit / read | nodes | scans (rows read) | verdict |',
        );
        console.log('|---|--:|--:|--:|--:|---|---|---|');
      }
      recorder.take();
      await c.run(recorded);
      const sent = recorder.take();
      for (const [i, statement] of sent.entries()) {
        const input = sent.length > 1 ? `${c.input} (${i + 1})` : c.input;
        for (const [mode, run] of [
          ['custom', explain],
          ['generic', explainGeneric],
        ] as const) {
          const plan = await run(recorded, statement);
          recorder.take();
          const problems = planProblems(plan, sizes);
          if (problems.length > 0) failures++;
          console.log(row(`${input} · ${mode}`, plan, problems));
        }
      }
    }
  } finally {
    await recorded.end();
    await sql.end();
  }
  console.log(failures ? `\n${failures} plan(s) failed` : '\nevery plan passed');
  process.exitCode = failures ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
