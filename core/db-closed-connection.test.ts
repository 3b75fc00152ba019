import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../test/helpers/context.ts';
import { runNodeToExit } from '../test/helpers/process.ts';

/*
 * postgres.js 3.4.9 throws from a timer when a statement is written to a connection
 * whose socket has closed (porsager/postgres#1208, #1154; fix proposed in #1209, not
 * released): a reserved connection, which this project uses for every transaction
 * (core/db.ts), then ends the whole process. A PostgreSQL restart under load killed
 * workers nodes that way. patches/postgres+3.4.9.patch (applied by patch-package on
 * install) settles such statements with CONNECTION_CLOSED instead.
 */
const probe = fileURLToPath(
  new URL('../test/fixtures/postgres-closed-connection.ts', import.meta.url),
);
const typesProbe = fileURLToPath(
  new URL('../test/fixtures/postgres-types-fetch.ts', import.meta.url),
);
let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase('closed');
});
afterAll(async () => {
  await db?.drop();
});

describe('a connection whose backend died', () => {
  it('rejects the statements sent on it, and the process and the pool live on', async () => {
    const { code, output: out } = await runNodeToExit({ DATABASE_URL: db.url }, probe);
    expect(out).not.toContain('TypeError');
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    const closed = ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', '57P01'];
    expect(closed).toContain(result.reservedFirst);
    expect(closed).toContain(result.reservedSecond);
    expect(closed).toContain(result.transaction);
    expect(result.after.slice(-6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    for (const outcome of result.after) expect(['ok', ...closed]).toContain(outcome);
  });

  // postgres.js fetches the array types on each new connection without handling that
  // statement's failure (porsager/postgres#1192, #1205, #1223): a connection cut at that
  // moment, as while PostgreSQL restarts, ended the process with an unhandled rejection.
  // The patch settles it and fetches the types again on the next connection.
  it('lives when its backend goes away while the array types are fetched', async () => {
    const { code, output: out } = await runNodeToExit({ DATABASE_URL: db.url }, typesProbe);
    expect(out).not.toContain('nhandled');
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(result.cuts).toBe(2);
    const closed = ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET'];
    for (const outcome of result.outcomes) expect(['ok', ...closed]).toContain(outcome);
    expect(result.outcomes.slice(-2)).toEqual(['ok', 'ok']);
    expect(result.arrays).toBe(2);
  });
});
