import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { httpApi } from '../test/helpers/http.ts';
import { nodeUrl, useInProcessNodes } from '../test/helpers/realtime.ts';
import { DEMO_ACCOUNT, DEMO_FRIEND, DEMO_SIGHTINGS, ensureDemoAccount } from './demo-account.ts';

const LISBON_BBOX = '-9.35,38.6,-8.95,38.85';
/** On the map for everyone: every sighting but the private one. */
const PUBLIC = DEMO_SIGHTINGS.filter((s) => s.geoprivacy !== 'private');
const DAY_MS = 86_400_000;

/** A connection of the test's own to a cluster's database, closed after the file. */
function useDatabase(dbUrl: () => string) {
  let sql: postgres.Sql | undefined;
  afterAll(() => sql?.end({ timeout: 5 }));
  return () => {
    sql ??= postgres(dbUrl(), { max: 1 });
    return sql;
  };
}

/** How many accounts and posts the demo accounts have. */
async function demoRows(sql: postgres.Sql) {
  const [row] = await sql<{ accounts: number; posts: number }[]>`
    select count(distinct u.id)::int as accounts, count(p.id)::int as posts
    from users u left join posts p on p.author_id = u.id
    where u.email in (${DEMO_ACCOUNT.email}, ${DEMO_FRIEND.email})`;
  return row!;
}

describe('the demo account, with DEMO_ACCOUNT=true', () => {
  const cluster = useInProcessNodes({ DEMO_ACCOUNT: 'true' });
  const db = useDatabase(() => cluster.dbUrl);

  it('signs in with its published password and shows its sightings on the map', async () => {
    const node = await cluster.start('server,gateway,workers');
    const api = httpApi(nodeUrl(node));

    const login = await api.call('POST', '/auth/login', undefined, {
      email: DEMO_ACCOUNT.email,
      password: DEMO_ACCOUNT.password,
    });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({
      handle: DEMO_ACCOUNT.handle,
      displayName: DEMO_ACCOUNT.displayName,
      followerCount: 1,
      followingCount: 1,
      postCount: DEMO_SIGHTINGS.filter((s) => s.author === 'demo').length,
    });
    const token: string = login.body.accessToken;

    const sightings = await api.call('GET', `/map/sightings?bbox=${LISBON_BBOX}&limit=100`, token);
    expect(sightings.status).toBe(200);
    const items: Array<{ species: string; geoprivacy: string; createdAt: string }> =
      sightings.body.items;
    expect(items.map((p) => p.species).sort()).toEqual(PUBLIC.map((s) => s.species).sort());
    expect(items.map((p) => p.geoprivacy)).not.toContain('private');
    expect(items.map((p) => p.geoprivacy)).toContain('obscured');
    expect(items.map((p) => p.species)).toEqual(
      expect.arrayContaining(['tabby cat', 'red fox', 'border collie', 'white stork', 'gecko']),
    );
    // Spread over a month, newest first: "today", "this week" and "all" differ.
    const ages = items.map((p) => Date.now() - Date.parse(p.createdAt));
    expect(ages).toEqual([...ages].sort((a, b) => a - b));
    const today = ages.filter((a) => a < DAY_MS).length;
    const week = ages.filter((a) => a < 7 * DAY_MS).length;
    expect(today).toBeGreaterThan(0);
    expect(week).toBeGreaterThan(today);
    expect(items.length).toBeGreaterThan(week);

    // Once the workers have placed them, the cells count every public sighting, each
    // cell as recent as its newest sighting (the backdated times, not the seed's).
    const cells = async () =>
      (await api.call('GET', `/map/cells?bbox=${LISBON_BBOX}&zoom=12`, token)).body as {
        cells: Array<{ count: number; lastAt: string }>;
      };
    await expect
      .poll(async () => (await cells()).cells.reduce((n, c) => n + c.count, 0), {
        timeout: 15_000,
      })
      .toBe(PUBLIC.length);
    const lastAts = (await cells()).cells.map((c) => Date.parse(c.lastAt));
    expect(Math.min(...lastAts)).toBeLessThan(Date.now() - 7 * DAY_MS);
    const disagreeing = await db()`
      select p.id from posts p join map_points m on m.post_id = p.id
      where m.created_at <> p.created_at`;
    expect(disagreeing).toHaveLength(0);
  });

  it('leaves an existing demo account alone at the next start, deleted posts included', async () => {
    const api = httpApi(nodeUrl(cluster.nodes[0]!));
    const login = await api.call('POST', '/auth/login', undefined, {
      email: DEMO_ACCOUNT.email,
      password: DEMO_ACCOUNT.password,
    });
    const token: string = login.body.accessToken;
    const sightings = await api.call('GET', `/map/sightings?bbox=${LISBON_BBOX}`, token);
    const own = sightings.body.items.find(
      (p: { author: { handle: string } }) => p.author.handle === DEMO_ACCOUNT.handle,
    );
    expect((await api.call('DELETE', `/posts/${own.id}`, token)).status).toBe(204);
    expect(await demoRows(db())).toEqual({ accounts: 2, posts: DEMO_SIGHTINGS.length - 1 });

    await cluster.start('server');
    expect(await demoRows(db())).toEqual({ accounts: 2, posts: DEMO_SIGHTINGS.length - 1 });
  });
});

describe('the demo account, with DEMO_ACCOUNT left at its default under NODE_ENV=test', () => {
  const cluster = useInProcessNodes();
  const db = useDatabase(() => cluster.dbUrl);

  it('is not seeded, and two nodes seeding at once make it once', async () => {
    const a = await cluster.start('server');
    const b = await cluster.start('server');
    expect(a.deps.config.demoAccount).toBe(false);
    expect(await demoRows(db())).toEqual({ accounts: 0, posts: 0 });

    const lines: Array<{ level: number; msg: string; email?: string }> = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const results = await Promise.all(
      [a, b, a].map((node) => ensureDemoAccount({ ...node.deps, logger })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await demoRows(db())).toEqual({ accounts: 2, posts: DEMO_SIGHTINGS.length });
    // One info line per call, naming the email.
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatchObject({ level: 30, email: DEMO_ACCOUNT.email });
      expect(line.msg).toContain(DEMO_ACCOUNT.email);
    }
    const login = await httpApi(nodeUrl(b)).call('POST', '/auth/login', undefined, {
      email: DEMO_ACCOUNT.email,
      password: DEMO_ACCOUNT.password,
    });
    expect(login.status).toBe(200);
  });
});
