import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../loadtest/seed.ts';
import { BUSY_POST_CLIENT_ID, fixtureHandles } from '../loadtest/seed-fixtures.ts';
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

  it('adds the named fixtures, comments, likes and notifications, counted on the posts', async () => {
    const { sql } = dbs[1]!;
    const sizes = { following: 150, quietAccounts: 5, inbox: 1_000, comments: 300 };
    await seed(sql, { seed: 9, users: 200, sightings: 1_000, fixtures: sizes });
    const names = fixtureHandles('s9_');
    const [shape] = await sql`
      select
        (select following_count from users where handle = ${names.following}) as following,
        (select count(*)::int from follows f join users u on u.id = f.follower_id
          where u.handle = ${names.quietFeed}) as quiet,
        (select max(post_count) from users where handle like 's9_fx_quiet_%') as "quietPosts",
        (select count(*)::int from notifications n join users u on u.id = n.user_id
          where u.handle = ${names.inbox}) as inbox,
        (select count(*)::int from notifications n join users u on u.id = n.user_id
          where u.handle = ${names.inbox} and n.read_at is null) as unread,
        (select comment_count from posts where client_id = ${BUSY_POST_CLIENT_ID}) as comments,
        (select count(*)::int from posts p
          where p.comment_count <> (select count(*) from comments c where c.post_id = p.id)
             or p.like_count <> (select count(*) from likes l where l.post_id = p.id)) as miscounted,
        (select count(*)::int from likes) > 0 as liked`;
    // The indexes dropped for the load are back, as the migrations made them.
    const fresh = await createTestDatabase('seed');
    const freshSql = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      const indexes = (s: postgres.Sql) => s`
        select indexname, indexdef from pg_indexes
        where schemaname = current_schema() order by indexname`;
      expect(await indexes(sql)).toEqual(await indexes(freshSql));
    } finally {
      await freshSql.end();
      await fresh.drop();
    }
    expect(shape).toEqual({
      following: 150,
      quiet: 5,
      quietPosts: 2,
      inbox: 1_000,
      // the newest 5 % and every hundredth of the others
      unread: 50 + 9,
      comments: 300,
      miscounted: 0,
      liked: true,
    });
  });
});
