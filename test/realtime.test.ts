import { io as connectRaw } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { Sql } from '../core/db.ts';
import { signAccessToken } from '../domain/auth/tokens.ts';
import { type HttpUser, httpApi } from './helpers/http.ts';
import { listen, nodeUrl, useCluster } from './helpers/realtime.ts';

const cluster = useCluster({ SOCKET_EVENTS_PER_SECOND: '5' });

/** Node A: server + workers + gateway; node B: gateway only; node C: a second workers node. */
async function twoNodes() {
  if (cluster.nodes.length === 0) {
    await cluster.start('server,gateway,workers');
    await cluster.start('gateway');
    await cluster.start('workers');
  }
  const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  return { a, b, api: httpApi(nodeUrl(a)) };
}

/** Waits until the map worker has written a post's aggregates (it pushes first). */
async function untilMapped(sql: Sql, postId: string) {
  await expect
    .poll(async () => (await sql`select 1 from map_points where post_id = ${postId}`).length, {
      timeout: 10_000,
    })
    .toBe(1);
}

/** Waits until the user's inbox holds `count` unread notifications (the workers write them). */
async function untilUnread(api: ReturnType<typeof httpApi>, user: HttpUser, count: number) {
  await expect
    .poll(
      async () =>
        (await api.call('GET', '/notifications/unread-count', user.accessToken)).body.count,
      { timeout: 10_000 },
    )
    .toBe(count);
}

function rawSocket(url: string, auth: Record<string, unknown>) {
  const socket = connectRaw(url, {
    path: '/socket.io',
    transports: ['websocket'],
    auth,
    reconnection: false,
  });
  const outcome = new Promise<'connected' | string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(err.message));
  });
  return { socket, outcome };
}

describe('handshake', () => {
  it('refuses a missing, malformed or forged token with connect_error "unauthorized"', async () => {
    const { b, api } = await twoNodes();
    const user = await api.signup();
    const forged = await signAccessToken(
      { userId: user.id, sessionId: user.id },
      new TextEncoder().encode('not-the-secret-but-long-enough-to-sign-with-hs256'),
      60_000,
    );
    for (const auth of [
      {},
      { token: 42 },
      { token: 'garbage' },
      { token: forged },
      { token: 'x'.repeat(5000) },
    ]) {
      const { socket, outcome } = rawSocket(nodeUrl(b), auth);
      expect(await outcome).toBe('unauthorized');
      socket.close();
    }
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: user.accessToken });
    expect(await outcome).toBe('connected');
    socket.close();
  });
});

describe('notifications across gateway nodes', () => {
  it('a follower on node B hears of a post made through node A, fanned out by a worker', async () => {
    const { a, b, api } = await twoNodes();
    const author = await api.signup();
    const follower = await api.signup();
    await api.follow(follower, author);
    const onB = await listen(cluster, b, follower.accessToken);
    const post = await api.post(author, { body: 'A heron at the pond' });
    const n = await onB.next((x) => x.postId === post.id);
    expect(n).toMatchObject({
      type: 'post',
      actor: { id: author.id },
      commentId: null,
      readAt: null,
    });
    // The same event is in the inbox, with the same id (written right after the push).
    await expect
      .poll(
        async () =>
          (await httpApi(nodeUrl(a)).call('GET', '/notifications', follower.accessToken)).body
            .items[0],
        {
          timeout: 10_000,
        },
      )
      .toEqual(n);
  });

  it('comments, likes and follows reach the person concerned, live; nobody hears of their own actions', async () => {
    const { a, b, api } = await twoNodes();
    const author = await api.signup();
    const fan = await api.signup();
    const onA = await listen(cluster, a, author.accessToken);
    const onB = await listen(cluster, b, fan.accessToken);
    await api.follow(fan, author);
    const follow = await onA.next((n) => n.type === 'follow');
    expect(follow.actor?.id).toBe(fan.id);

    const post = await api.post(author);
    await onB.next((n) => n.type === 'post' && n.postId === post.id);
    const comment = await api.call('POST', `/posts/${post.id}/comments`, fan.accessToken, {
      body: 'Lovely!',
    });
    await api.call('PUT', `/posts/${post.id}/like`, fan.accessToken);
    await api.call('PUT', `/posts/${post.id}/like`, author.accessToken); // own like: no notification
    const c = await onA.next((n) => n.type === 'comment');
    expect(c).toMatchObject({ postId: post.id, commentId: comment.body.id, actor: { id: fan.id } });
    const like = await onA.next((n) => n.type === 'like');
    expect(like.actor?.id).toBe(fan.id);
    // The fan's own comment and like never come back to the fan.
    const count = await api.call('GET', '/notifications/unread-count', author.accessToken);
    expect(count.body).toEqual({ count: 3 });
    // The fan's inbox holds the post (written right after its push), nothing of the fan's own doing.
    await expect
      .poll(
        async () =>
          (await api.call('GET', '/notifications', fan.accessToken)).body.items.map(
            (n: { type: string }) => n.type,
          ),
        { timeout: 10_000 },
      )
      .toEqual(['post']);
  });

  it('a client that was away syncs exactly what it missed, also after moving to the other node', async () => {
    const { a, b, api } = await twoNodes();
    const author = await api.signup();
    const other = await api.signup();
    const me = await api.signup();
    await api.follow(me, author);
    const first = await listen(cluster, a, me.accessToken);
    const seenPost = await api.post(author);
    await first.next((n) => n.postId === seenPost.id);
    const last = first.client.lastNotificationId();
    first.client.close();

    // While away: two posts, a follow.
    const missed = [await api.post(author), await api.post(author)];
    await api.follow(other, me);
    // Wait until the inbox holds them (the pushes went nowhere).
    await untilUnread(api, me, 4);

    const again = await listen(cluster, b, me.accessToken, { lastNotificationId: last });
    // Exactly the three it missed (in the order they reached the inbox: separate events
    // are handled concurrently, so that order need not be the order they happened in).
    expect(again.received.map((n) => n.postId ?? n.type).sort()).toEqual(
      [missed[0]!.id, missed[1]!.id, 'follow'].sort(),
    );
    // Syncing again brings nothing the user has not had: a sync looks a few seconds
    // back on purpose (see notificationsAfter), and the client drops what it holds.
    const known = new Set([...first.received, ...again.received].map((n) => n.id));
    const resynced = await again.client.sync();
    expect(resynced.filter((n) => !known.has(n.id))).toEqual([]);
    expect(await again.client.sync()).toEqual([]);
  });
});

describe('inbox API', () => {
  it('lists newest first, filters unread, counts, and marks read by ids or up to an id', async () => {
    const { api } = await twoNodes();
    const me = await api.signup();
    const fans: HttpUser[] = [];
    for (let i = 0; i < 4; i++) {
      const fan = await api.signup();
      await api.follow(fan, me);
      fans.push(fan);
      // One at a time: events are handled concurrently, so the inbox order is the
      // order rows arrive, which only waiting makes the order of the follows.
      await untilUnread(api, me, i + 1);
    }
    const all = await api.call('GET', '/notifications?limit=3', me.accessToken);
    expect(all.body.items.map((n: { actor: { id: string } }) => n.actor.id)).toEqual(
      fans
        .slice(1)
        .map((f) => f.id)
        .reverse(),
    );
    const rest = await api.call(
      'GET',
      `/notifications?limit=3&cursor=${all.body.nextCursor}`,
      me.accessToken,
    );
    expect(rest.body).toMatchObject({ items: [{ actor: { id: fans[0]!.id } }], nextCursor: null });
    const [newest, second, third, oldest] = [...all.body.items, ...rest.body.items];

    expect(
      (await api.call('POST', '/notifications/read', me.accessToken, { ids: [newest.id] })).status,
    ).toBe(204);
    expect((await api.call('GET', '/notifications/unread-count', me.accessToken)).body.count).toBe(
      3,
    );
    expect(
      (await api.call('POST', '/notifications/read', me.accessToken, { upTo: third.id })).status,
    ).toBe(204);
    const unread = await api.call('GET', '/notifications?unread=true', me.accessToken);
    expect(unread.body.items.map((n: { id: string }) => n.id)).toEqual([second.id]);
    expect(oldest.readAt).toBeNull();

    for (const body of [{}, { ids: ['nope'] }, { upTo: 5 }, { ids: 'x' }]) {
      expect((await api.call('POST', '/notifications/read', me.accessToken, body)).status).toBe(
        400,
      );
    }
    expect((await api.call('GET', '/notifications?cursor=zzz', me.accessToken)).status).toBe(400);
    expect((await api.call('GET', '/notifications')).status).toBe(401);
  });
});

describe('socket robustness', () => {
  it('answers malformed payloads and unknown events with error acks and keeps the connection', async () => {
    const { b, api } = await twoNodes();
    const me = await api.signup();
    const l = await listen(cluster, b, me.accessToken);
    const s = l.client.socket;
    const ack = (event: string, payload: unknown) =>
      (s.timeout(15_000) as any).emitWithAck(event, payload);
    expect(await ack('notifications:sync', { after: 42 })).toMatchObject({
      error: { code: 'validation_failed' },
    });
    expect(await ack('notifications:sync', 'hello')).toMatchObject({
      error: { code: 'validation_failed' },
    });
    expect(await ack('notifications:sync', { after: 'x', extra: true })).toMatchObject({
      error: { code: 'validation_failed' },
    });
    expect(await ack('notifications:sync', { after: 'not-a-uuid' })).toMatchObject({
      error: { code: 'validation_failed' },
    });
    // An undefined payload travels as null: the same as none.
    expect(await ack('notifications:sync', undefined)).toMatchObject({
      data: { items: [], hasMore: false },
    });
    expect(await ack('no:such:event', {})).toMatchObject({ error: { code: 'not_found' } });
    expect(await ack('auth:renew', { token: 'bad' })).toMatchObject({
      error: { code: 'unauthorized' },
    });
    // Without an ack function nothing is answered and nothing breaks.
    (s as any).emit('notifications:sync', { after: 42 });
    expect(s.connected).toBe(true);
    expect(await ack('notifications:sync', {})).toMatchObject({
      data: { items: [], hasMore: false },
    });
  });

  // Known and unknown events draw on one budget.
  it.each(['notifications:sync', 'no:such:event'])(
    'rate-limits a client flooding %s, then disconnects it; the node keeps serving others',
    async (event) => {
      const { b, api } = await twoNodes();
      const flooder = await api.signup();
      const { socket, outcome } = rawSocket(nodeUrl(b), { token: flooder.accessToken });
      expect(await outcome).toBe('connected');
      const gone = new Promise<string>((resolve) =>
        socket.once('disconnect', (reason) => resolve(reason)),
      );
      const answers: Array<{ error?: { code: string } }> = [];
      for (let i = 0; i < 200 && socket.connected; i++) {
        socket.emit(event as 'notifications:sync', {}, (res: { error?: { code: string } }) =>
          answers.push(res),
        );
      }
      expect(await gone).toBe('io server disconnect');
      expect(answers.some((a) => a.error?.code === 'rate_limited')).toBe(true);
      const someone = await api.signup();
      const fine = rawSocket(nodeUrl(b), { token: someone.accessToken });
      expect(await fine.outcome).toBe('connected');
      fine.socket.close();
    },
  );
});

describe('sessions end on every node', () => {
  it('logout disconnects the session’s sockets on both nodes, and only those', async () => {
    const { a, b, api } = await twoNodes();
    const me = await api.signup();
    const login = await api.call('POST', '/auth/login', undefined, {
      email: me.input.email,
      password: me.input.password,
    });
    const onA = rawSocket(nodeUrl(a), { token: me.accessToken });
    const onB = rawSocket(nodeUrl(b), { token: me.accessToken });
    const otherSession = rawSocket(nodeUrl(b), { token: login.body.accessToken });
    expect(await Promise.all([onA.outcome, onB.outcome, otherSession.outcome])).toEqual([
      'connected',
      'connected',
      'connected',
    ]);
    const closed = Promise.all(
      [onA, onB].map(
        (c) => new Promise<string>((resolve) => c.socket.once('disconnect', (r) => resolve(r))),
      ),
    );
    expect(
      (await api.call('POST', '/auth/logout', undefined, { refreshToken: me.refreshToken })).status,
    ).toBe(204);
    expect(await closed).toEqual(['io server disconnect', 'io server disconnect']);
    expect(otherSession.socket.connected).toBe(true);
    const again = rawSocket(nodeUrl(b), { token: me.accessToken });
    expect(await again.outcome).toBe('unauthorized');
    otherSession.socket.close();
  });

  // Both sockets start with a token valid for 10 s (9–10 s: expiry is in whole
  // seconds): ample time to connect and renew on a busy machine.
  it('an expiring token closes the socket unless renewed', { timeout: 40_000 }, async () => {
    const { b, api, a } = await twoNodes();
    const me = await api.signup();
    const claims = JSON.parse(Buffer.from(me.accessToken.split('.')[1]!, 'base64url').toString());
    const short = await signAccessToken(
      { userId: me.id, sessionId: claims.sid },
      a.deps.config.jwtSecret,
      10_000,
    );
    const renewed = rawSocket(nodeUrl(b), { token: short });
    const expiring = rawSocket(nodeUrl(b), { token: short });
    const reasons = { renewed: [] as string[] };
    renewed.socket.on('disconnect', (r) => reasons.renewed.push(r));
    const expired = new Promise<string>((resolve) =>
      expiring.socket.once('disconnect', (r) => resolve(r)),
    );
    expect(await Promise.all([renewed.outcome, expiring.outcome])).toEqual([
      'connected',
      'connected',
    ]);
    const res = await renewed.socket
      .timeout(10_000)
      .emitWithAck('auth:renew', { token: me.accessToken });
    expect(res.data.expiresAt).toBeTruthy();
    expect(await expired).toBe('io server disconnect');
    expect(reasons.renewed).toEqual([]);
    expect(renewed.socket.connected).toBe(true);
    renewed.socket.close();
  });
});

describe('renewing a socket’s token', () => {
  it('follows the session it moved to, there and back, and keeps its map subscription', async () => {
    const { b, api } = await twoNodes();
    const me = await api.signup();
    const author = await api.signup();
    const login = async () =>
      (
        await api.call('POST', '/auth/login', undefined, {
          email: me.input.email,
          password: me.input.password,
        })
      ).body as { accessToken: string; refreshToken: string };
    const second = await login();
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: me.accessToken });
    expect(await outcome).toBe('connected');
    const sightings: string[] = [];
    socket.on('map:sighting', (s: { post: { id: string } }) => sightings.push(s.post.id));
    const sub = await socket
      .timeout(15_000)
      .emitWithAck('map:subscribe', { bbox: '-9.20,38.69,-9.10,38.76', zoom: 12 });
    expect(sub.data).toBeTruthy();
    // First session → second → first again.
    for (const token of [second.accessToken, me.accessToken]) {
      const res = await socket.timeout(15_000).emitWithAck('auth:renew', { token });
      expect(res.data.expiresAt).toBeTruthy();
    }
    // Still subscribed after renewing.
    const post = await api.post(author, { location: { lat: 38.72, lng: -9.15 } });
    await expect.poll(() => sightings, { timeout: 15_000 }).toContain(post.id);
    // Logging out the second session, which the socket left, leaves it alone: a canary
    // socket of that session is closed by the same message that would close this one,
    // and this one still answers afterwards.
    const canary = rawSocket(nodeUrl(b), { token: second.accessToken });
    expect(await canary.outcome).toBe('connected');
    const canaryClosed = new Promise<string>((resolve) =>
      canary.socket.once('disconnect', resolve),
    );
    expect(
      (await api.call('POST', '/auth/logout', undefined, { refreshToken: second.refreshToken }))
        .status,
    ).toBe(204);
    expect(await canaryClosed).toBe('io server disconnect');
    expect(await socket.timeout(15_000).emitWithAck('notifications:sync', {})).toMatchObject({
      data: { hasMore: false },
    });
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    // ...logging out the first, which it follows again, closes it.
    expect(
      (await api.call('POST', '/auth/logout', undefined, { refreshToken: me.refreshToken })).status,
    ).toBe(204);
    expect(await closed).toBe('io server disconnect');
  });
});

describe('live map', () => {
  it('pushes sightings in a subscribed area across nodes, retracts them, and respects geoprivacy', async () => {
    const { a, b, api } = await twoNodes();
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: viewer.accessToken });
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
    const inside = await api.post(author, { location: { lat: 38.72, lng: -9.15 } });
    const outside = await api.post(author, { location: { lat: 41.15, lng: -8.61 } });
    const secret = { lat: 38.713917, lng: -9.133651 };
    const obscured = await api.post(author, { location: secret, geoprivacy: 'obscured' });
    const hidden = await api.post(author, {
      location: { lat: 38.73, lng: -9.16 },
      geoprivacy: 'private',
    });
    await until(() => sightings.some((s) => s.post.id === inside.id));
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
    void a;
    socket.close();
  });

  it('retracts every post deleted right after it was made, whatever order the events run in', async () => {
    const { b, api } = await twoNodes();
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: viewer.accessToken });
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
            await cluster.nodes[0]!.deps
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
    const { b, api } = await twoNodes();
    const author = await api.signup();
    const viewer = await api.signup();
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: viewer.accessToken });
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
    const watcher = rawSocket(nodeUrl(b), { token: other.accessToken });
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

  it('answers bad subscriptions with error acks', async () => {
    const { b, api } = await twoNodes();
    const viewer = await api.signup();
    const { socket, outcome } = rawSocket(nodeUrl(b), { token: viewer.accessToken });
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
