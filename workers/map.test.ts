import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM } from '../contract/index.ts';
import { createSql, type Sql } from '../core/db.ts';
import { MAP_RESOLUTIONS, mapCells } from '../domain/map/geo.ts';
import { syncMapPoint } from '../domain/map/queries.ts';
import { createPost, signup } from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { liveMap } from './map.ts';
import { relayOnce } from './relay.ts';
import type { StreamMessage } from './stream-worker.ts';

const ctx = useTestContext();

/**
 * One connection whose round trips and statements are counted: postgres.js `debug`
 * reports each statement, and the socket (postgres.js `socket`) each send that
 * follows an answer. Statements sent before any answer came back were pipelined in
 * one round trip, however their bytes were split into writes.
 */
const counted: Sql[] = [];
function countingSql() {
  const url = new URL(ctx.dbUrl);
  const statements: string[] = [];
  let roundTrips = 0;
  let answered = true;
  // (A variable, not a literal: `socket` is a driver option its type definitions leave out.)
  const options = {
    debug: (_conn: number, query: string) => statements.push(query),
    socket: () => {
      const socket = connect(Number(url.port || 5432), url.hostname);
      socket.on('data', () => {
        answered = true;
      });
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      socket.write = ((...args: unknown[]) => {
        if (answered) roundTrips += 1;
        answered = false;
        return write(...args);
      }) as typeof socket.write;
      return socket;
    },
  };
  const sql = createSql({ databaseUrl: ctx.dbUrl, databasePoolSize: 1 }, undefined, options);
  counted.push(sql);
  const reset = () => {
    statements.length = 0;
    roundTrips = 0;
  };
  return { sql, statements, reset, roundTrips: () => roundTrips };
}

afterAll(async () => {
  await Promise.all(counted.map((sql) => sql.end({ timeout: 5 })));
});

/** The stream's messages about this post, as the consumer reads them, after relaying the outbox. */
async function messagesAbout(postId: string): Promise<StreamMessage[]> {
  await relayOnce(ctx.deps);
  const entries = await ctx.deps.redis.xrange(EVENTS_STREAM, '-', '+');
  return entries
    .map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return { id, fields, deliveries: 1 };
    })
    .filter((m) => JSON.parse(m.fields.event ?? '{}').postId === postId);
}

const countsAt = (postId: string) => ctx.deps.sql<{ res: number; count: number }[]>`
  select c.res, c.count from map_points p
  join map_cells c on c.kind = p.kind and c.cell = any(p.cells)
  where p.post_id = ${postId} order by c.res`;

async function move(token: string, postId: string, location: { lat: number; lng: number }) {
  const res = await ctx.request('PATCH', `/api/v1/posts/${postId}`, { token, body: { location } });
  expect(res.status).toBe(200);
}

/** What map_cells must hold: every public point counted once at each resolution, computed in JS. */
async function expectedCells() {
  const posts = await ctx.deps.sql<{ kind: string; lat: number; lng: number }[]>`
    select kind, pub_lat as lat, pub_lng as lng from posts where pub_lat is not null`;
  const counts = new Map<string, number>();
  for (const p of posts) {
    mapCells(p.lat, p.lng).forEach((cell, i) => {
      const key = `${MAP_RESOLUTIONS[i]} ${cell} ${p.kind}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
  }
  return [...counts.entries()].map(([key, count]) => `${key} ${count}`).sort();
}

async function actualCells() {
  const rows = await ctx.deps.sql<{ res: number; cell: string; kind: string; count: number }[]>`
    select res, cell, kind, count from map_cells`;
  return rows.map((r) => `${r.res} ${r.cell} ${r.kind} ${r.count}`).sort();
}

describe('live map worker', () => {
  it('syncs a located post in a bounded number of statements and round trips, whatever the resolutions', async () => {
    const author = await signup(ctx);
    const { sql, statements, reset, roundTrips: trips } = countingSql();
    const deps = { ...ctx.deps, sql };
    // A first post, created then moved, prepares the statements on the connection, as a
    // running worker has (postgres.js describes a statement's parameters the first time).
    const warm = await createPost(ctx, author, { location: { lat: 51.5, lng: -0.12 } });
    for (const m of await messagesAbout(warm.id)) await liveMap.handle(m, deps);
    await move(author.accessToken, warm.id, { lat: 51.51, lng: -0.13 });
    await liveMap.handle((await messagesAbout(warm.id)).at(-1)!, deps);

    const post = await createPost(ctx, author, { location: { lat: 48.85, lng: 2.35 } });
    const [created] = await messagesAbout(post.id);
    reset();
    await liveMap.handle(created!, deps);
    // BEGIN; lock, map point, post, post for the push; the cells, the point; COMMIT.
    expect(statements, statements.join('\n---\n')).toHaveLength(8);
    expect(statements.filter((s) => s.includes('map_cells'))).toHaveLength(1);
    // Everything read in the transaction is read under the post's lock.
    expect(statements[1]).toContain('pg_advisory_xact_lock');
    expect(trips()).toBe(4);
    expect(await countsAt(post.id)).toEqual(MAP_RESOLUTIONS.map((res) => ({ res, count: 1 })));

    // A move takes one off and puts one on, the emptied rows go, still in four round trips.
    await move(author.accessToken, post.id, { lat: 48.86, lng: 2.36 });
    const updated = (await messagesAbout(post.id)).at(-1)!;
    reset();
    await liveMap.handle(updated, deps);
    expect(statements.length, statements.join('\n---\n')).toBeLessThanOrEqual(9);
    expect(trips()).toBe(4);
    expect(await countsAt(post.id)).toEqual(MAP_RESOLUTIONS.map((res) => ({ res, count: 1 })));
    // Two posts on the map, each counted once at every resolution, no empty row left.
    const totals = await ctx.deps.sql<{ res: number; count: number; rows: number }[]>`
      select res, sum(count)::int as count, count(*)::int as rows, min(count) as least
      from map_cells group by res order by res`;
    expect(totals.map(({ res, count }) => ({ res, count }))).toEqual(
      MAP_RESOLUTIONS.map((res) => ({ res, count: 2 })),
    );
    expect(totals.every((t) => (t as unknown as { least: number }).least > 0)).toBe(true);
  });

  it('counts concurrent syncs of different posts in the same cells, moving opposite ways, without a lost update or a deadlock', async () => {
    const author = await signup(ctx);
    // Two places sharing their coarse cells and apart at the finer ones: posts moving
    // from one to the other take one off and put one on the same rows, in opposite
    // directions (the case where locking rows in different orders deadlocks).
    const here = { lat: 38.72, lng: -9.15 };
    const there = { lat: 38.74, lng: -9.12 };
    const shared = mapCells(here.lat, here.lng).filter(
      (c, i) => c === mapCells(there.lat, there.lng)[i],
    );
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.length).toBeLessThan(MAP_RESOLUTIONS.length);
    const group = async (at: typeof here) =>
      Promise.all(
        Array.from({ length: 5 }, () => createPost(ctx, author, { kind: 'wild', location: at })),
      );
    const fromHere = await group(here);
    const fromThere = await group(there);
    const ids = [...fromHere, ...fromThere].map((p) => p.id as string);

    await Promise.all(ids.map((id) => syncMapPoint(ctx.deps.sql, id)));
    expect(await actualCells()).toEqual(await expectedCells());
    expect(await actualCells()).toContain(`${MAP_RESOLUTIONS[0]} ${shared[0]} wild 10`);

    for (let round = 0; round < 4; round++) {
      const [a, b] = round % 2 === 0 ? [there, here] : [here, there];
      for (const [posts, to] of [
        [fromHere, a],
        [fromThere, b],
      ] as const) {
        for (const p of posts) {
          const res = await ctx.request('PATCH', `/api/v1/posts/${p.id}`, {
            token: author.accessToken,
            body: { location: to },
          });
          expect(res.status).toBe(200);
        }
      }
      // Every post's sync at once, each twice (a redelivery): all must count, none fail.
      await Promise.all([...ids, ...ids].map((id) => syncMapPoint(ctx.deps.sql, id)));
      expect(await actualCells(), `round ${round}`).toEqual(await expectedCells());
    }
    const [empty] = await ctx.deps.sql<{ n: number }[]>`
      select count(*)::int as n from map_cells where count <= 0`;
    expect(empty!.n).toBe(0);
  });
});
