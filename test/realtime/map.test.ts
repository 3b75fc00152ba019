import { describe, expect, it } from 'vitest';
import { MapRetraction, MapSighting, MapSubscribeResult } from '../../contract/index.ts';
import type { Sql } from '../../core/db.ts';
import { connectRawSocket, nodeUrl, useThreeNodes } from '../helpers/realtime.ts';

const nodes = useThreeNodes({ SOCKET_EVENTS_PER_SECOND: '5' });

/** Waits until the map worker has written a post's aggregates (it pushes first). */
async function untilMapped(sql: Sql, postId: string) {
  await expect
    .poll(async () => (await sql`select 1 from map_points where post_id = ${postId}`).length, {
      timeout: 10_000,
    })
    .toBe(1);
}

describe('live map', () => {
  it('pushes sightings in a subscribed area across nodes, retracts them, and respects geoprivacy', async () => {
    const { a, b, api } = nodes;
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    const sightings: Array<{
      post: { id: string; location: { lat: number; lng: number } };
      cell: string;
    }> = [];
    const retractions: Array<{ postId: string }> = [];
    const waiters: Array<() => void> = [];
    socket.on('map:sighting', (s) => {
      sightings.push(s);
      for (const w of waiters.splice(0)) w();
    });
    socket.on('map:retract', (r) => {
      retractions.push(r);
      for (const w of waiters.splice(0)) w();
    });
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise<void>((resolve) => waiters.push(resolve));
    };

    // Lisbon, at street zoom.
    const sub = await socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: '-9.20,38.69,-9.10,38.76', zoom: 12 });
    expect(sub.data).toMatchObject({ resolution: 8 });
    // What the gateway sends is what the contract's schemas say.
    expect(MapSubscribeResult.safeParse(sub.data).error).toBeUndefined();
    const inside = await api.post(author, { location: { lat: 38.72, lng: -9.15 } });
    const outside = await api.post(author, { location: { lat: 41.15, lng: -8.61 } });
    const secret = { lat: 38.713917, lng: -9.133651 };
    const obscured = await api.post(author, { location: secret, geoprivacy: 'obscured' });
    const hidden = await api.post(author, {
      location: { lat: 38.73, lng: -9.16 },
      geoprivacy: 'private',
    });
    await until(() => sightings.some((s) => s.post.id === inside.id));
    expect(
      MapSighting.safeParse(sightings.find((s) => s.post.id === inside.id)).error,
    ).toBeUndefined();
    expect(sightings.find((s) => s.post.id === inside.id)!.post.location).toEqual({
      lat: 38.72,
      lng: -9.15,
    });

    // The aggregate counts it too, read at node A (the push goes out before the
    // aggregates are written, so it may take a moment).
    await untilMapped(a.deps.sql, inside.id);
    const cells = await api.call(
      'GET',
      '/map/cells?bbox=-9.20,38.69,-9.10,38.76&zoom=12',
      viewer.accessToken,
    );
    expect(
      cells.body.cells.reduce((s: number, c: { count: number }) => s + c.count, 0),
    ).toBeGreaterThanOrEqual(1);

    await api.call('DELETE', `/posts/${inside.id}`, author.accessToken);
    await until(() => retractions.some((r) => r.postId === inside.id));
    expect(
      MapRetraction.safeParse(retractions.find((r) => r.postId === inside.id)).error,
    ).toBeUndefined();
    // Nothing of the others reached this view: outside it, or obscured to a point outside it,
    // or private; and no message carried the obscured post's exact point.
    const ids = sightings.map((s) => s.post.id);
    expect(ids).not.toContain(outside.id);
    expect(ids).not.toContain(hidden.id);
    const o = sightings.find((s) => s.post.id === obscured.id);
    if (o) expect(o.post.location).not.toEqual(secret);
    expect(JSON.stringify(sightings)).not.toContain('713917');

    // Replacing the subscription moves it; unsubscribing stops it. (The Porto post's
    // aggregate is written after its push: wait for it, for the answer to hold it.)
    await untilMapped(a.deps.sql, outside.id);
    const porto = await socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: [-8.7, 41.1, -8.5, 41.2], zoom: 12 });
    expect(porto.data.cells.length).toBeGreaterThan(0);
    const there = await api.post(author, { location: { lat: 41.16, lng: -8.62 } });
    await until(() => sightings.some((s) => s.post.id === there.id));
    expect(await socket.timeout(15_000).emitWithAck('map:unsubscribe', {})).toEqual({ data: {} });
    socket.close();
  });

  it('retracts every post deleted right after it was made, whatever order the events run in', async () => {
    const { b, api } = nodes;
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    const sighted = new Set<string>();
    const retracted = new Set<string>();
    socket.on('map:sighting', (s: { post: { id: string } }) => sighted.add(s.post.id));
    socket.on('map:retract', (r: { postId: string }) => retracted.add(r.postId));
    await socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: '-9.20,38.69,-9.10,38.76', zoom: 12 });
    const ids = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const post = await api.post(author, { location: { lat: 38.7 + i * 0.001, lng: -9.15 } });
        await api.call('DELETE', `/posts/${post.id}`, author.accessToken);
        return post.id;
      }),
    );
    // Nothing stays on the map: no point is left, and every sighting was taken back.
    await expect
      .poll(
        async () =>
          (
            await nodes.a.deps
              .sql`select count(*)::int as n from map_points where post_id = any(${ids}::uuid[])`
          )[0]!.n,
        { timeout: 15_000 },
      )
      .toBe(0);
    await expect
      .poll(() => [...sighted].filter((id) => !retracted.has(id)), { timeout: 15_000 })
      .toEqual([]);
    socket.close();
  });

  it('overlapping subscribes leave no room behind once unsubscribed', async () => {
    const { b, api } = nodes;
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    const sightings: string[] = [];
    socket.on('map:sighting', (s: { post: { id: string } }) => sightings.push(s.post.id));
    const boxes = Array.from({ length: 8 }, (_, i) => `${-9.2 + i * 0.01},38.69,-9.10,38.76`);
    const answers = await Promise.all(
      boxes.map((bbox) =>
        (socket.timeout(15_000) as any).emitWithAck('map:subscribe', { bbox, zoom: 12 }),
      ),
    );
    // The last one sent holds; the ones it overtook say so.
    expect(answers.at(-1)!.data).toBeTruthy();
    for (const a of answers) expect(a.data ?? a.error.code).not.toBe('internal');
    expect(await socket.timeout(15_000).emitWithAck('map:unsubscribe', {})).toEqual({ data: {} });
    // A post in the area reaches a second watcher, and not this one.
    const other = await api.signup();
    const watcher = connectRawSocket(nodeUrl(b), { token: other.accessToken });
    expect(await watcher.outcome).toBe('connected');
    const seen = new Promise<string>((resolve) =>
      watcher.socket.on('map:sighting', (s: { post: { id: string } }) => resolve(s.post.id)),
    );
    await watcher.socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: '-9.20,38.69,-9.10,38.76', zoom: 12 });
    const post = await api.post(author, { location: { lat: 38.72, lng: -9.15 } });
    expect(await seen).toBe(post.id);
    // A push to this socket would have been sent with the watcher's, so before the answer
    // to anything asked now: ask, then look.
    await socket.timeout(15_000).emitWithAck('notifications:sync', {});
    expect(sightings).not.toContain(post.id);
    socket.close();
    watcher.socket.close();
  });

  it('answers a subscription since an instant with the counts of that window, and pushes new sightings to it', async () => {
    const { a, b, api } = nodes;
    const author = await api.signup();
    const viewer = await api.signup();
    // Montevideo: only this test posts there.
    const old = await api.post(author, { location: { lat: -34.9, lng: -56.16 }, kind: 'wild' });
    const recent = await api.post(author, { location: { lat: -34.91, lng: -56.17 } });
    await untilMapped(a.deps.sql, old.id);
    await untilMapped(a.deps.sql, recent.id);
    // Dated back after the worker mapped it: the post and its point alike.
    const longAgo = new Date(Date.now() - 5 * 86_400_000);
    await a.deps.sql`update posts set created_at = ${longAgo} where id = ${old.id}`;
    await a.deps.sql`update map_points set created_at = ${longAgo} where post_id = ${old.id}`;

    // Each socket's event budget is small here (SOCKET_EVENTS_PER_SECOND): two sockets.
    const bbox = '-56.5,-35.2,-55.9,-34.7';
    const since = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const connect = async () => {
      const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: viewer.accessToken });
      expect(await outcome).toBe('connected');
      const subscribe = async (extra: Record<string, unknown>) => {
        const res = await socket
          .timeout(15_000)
          .emitWithAck('map:subscribe', { bbox, zoom: 12, ...extra });
        // What the gateway sends is what the contract's schema says.
        const data = MapSubscribeResult.parse(res.data);
        return data.cells.reduce((sum, cell) => sum + cell.count, 0);
      };
      return { socket, subscribe };
    };

    const first = await connect();
    expect(await first.subscribe({})).toBe(2);
    expect(await first.subscribe({ since })).toBe(1);
    expect(await first.subscribe({ since, kind: 'wild' })).toBe(0);
    expect(await first.subscribe({ since: '2999-01-01T00:00:00Z' })).toBe(0);
    // The same instant at another offset.
    const local = new Date(Date.parse(since) - 3 * 3_600_000).toISOString().replace('Z', '');
    expect(await first.subscribe({ since: `${local}-03:00` })).toBe(1);
    for (const bad of ['yesterday', '2025-06-01T00:00:00', 1717200000000]) {
      const res = await (first.socket.timeout(15_000) as any).emitWithAck('map:subscribe', {
        bbox,
        zoom: 12,
        since: bad,
      });
      expect(res.error?.code, String(bad)).toBe('validation_failed');
    }
    first.socket.close();

    // Subscribed to the window: a new sighting is pushed, and counted once mapped.
    const second = await connect();
    expect(await second.subscribe({ since })).toBe(1);
    const seen = new Promise<string>((resolve) =>
      second.socket.on('map:sighting', (s: { post: { id: string } }) => resolve(s.post.id)),
    );
    const fresh = await api.post(author, { location: { lat: -34.92, lng: -56.15 } });
    expect(await seen).toBe(fresh.id);
    await untilMapped(a.deps.sql, fresh.id);
    await expect.poll(() => second.subscribe({ since }), { timeout: 10_000 }).toBe(2);
    second.socket.close();
  });

  it('answers bad subscriptions with error acks', async () => {
    const { b, api } = nodes;
    const viewer = await api.signup();
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: viewer.accessToken });
    expect(await outcome).toBe('connected');
    for (const payload of [
      {},
      { bbox: 'x', zoom: 3 },
      { bbox: [1, 2, 3], zoom: 3 },
      { bbox: '0,0,1,1', zoom: 'far' },
    ]) {
      const res = await (socket.timeout(15_000) as any).emitWithAck('map:subscribe', payload);
      expect(res.error.code, JSON.stringify(payload)).toBe('validation_failed');
    }
    // The whole world is followed, at a coarse resolution.
    const world = await socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: '-180,-90,180,90', zoom: 1 });
    expect(world.data.resolution).toBe(2);
    // Degenerate boxes (a point, a thin strip round the world) are answered, not errors.
    for (const bbox of ['0,0,0,0', '0,-90,0.00001,90', '-180,0,180,0.00001']) {
      const res = await socket.timeout(15_000).emitWithAck('map:subscribe', { bbox, zoom: 24 });
      expect(res.data, bbox).toBeTruthy();
    }
    socket.close();
  });
});
