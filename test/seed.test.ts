import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../loadtest/seed.ts';
import { createTestDatabase } from './helpers/context.ts';

const dbs: Array<{ sql: postgres.Sql; drop: () => Promise<void> }> = [];
beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const db = await createTestDatabase('seed');
    dbs.push({ sql: postgres(db.url, { max: 2, onnotice: () => {} }), drop: db.drop });
  }
});
afterAll(async () => {
  for (const db of dbs) {
    await db.sql.end();
    await db.drop();
  }
});

describe('npm run seed', () => {
  it('is deterministic, skewed, and leaves the map aggregates consistent with the posts', async () => {
    const [a, b] = dbs as [(typeof dbs)[0], (typeof dbs)[0]];
    const options = { seed: 7, users: 300, sightings: 2_000 };
    await seed(a.sql, options);
    await seed(b.sql, options);
    const fingerprint = (sql: postgres.Sql) => sql`
      select kind, geoprivacy, count(*)::int as n, round(sum(lat)::numeric, 6)::text as lat
      from posts group by kind, geoprivacy order by kind, geoprivacy`;
    expect(await fingerprint(a.sql)).toEqual(await fingerprint(b.sql));
    const [{ n } = { n: 0 }] = await a.sql`select count(*)::int as n from posts`;
    expect(n).toBe(2_000);
    // A few users are very popular, most are not.
    const counts = (await a.sql`select follower_count as c from users order by c desc`).map(
      (r) => r.c as number,
    );
    expect(counts[0]!).toBeGreaterThan(10 * counts[Math.floor(counts.length / 2)]!);
    // Every non-private post is counted once per resolution; private ones nowhere.
    const [agg] = await a.sql`
      select (select sum(count)::int from map_cells where res = 9) as counted,
        (select count(*)::int from posts where geoprivacy <> 'private') as visible,
        (select count(*)::int from map_points) as points`;
    expect(agg).toEqual({ counted: agg!.visible, visible: agg!.visible, points: agg!.visible });
    // Seeding again with the same seed adds nothing.
    await seed(a.sql, options);
    expect((await a.sql`select count(*)::int as n from posts`)[0]!.n).toBe(2_000);
  });
});
