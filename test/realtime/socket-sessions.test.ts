import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../../domain/auth/tokens.ts';
import { connectRawSocket, nodeUrl, useThreeNodes } from '../helpers/realtime.ts';

// A socket belongs to a login session: it ends with the session, on every node, and follows
// the session its renewed token names.
const nodes = useThreeNodes({ SOCKET_EVENTS_PER_SECOND: '5' });

describe('sessions end on every node', () => {
  it('logout disconnects the session’s sockets on both nodes, and only those', async () => {
    const { a, b, api } = nodes;
    const me = await api.signup();
    const login = await api.call('POST', '/auth/login', undefined, {
      email: me.input.email,
      password: me.input.password,
    });
    const onA = connectRawSocket(nodeUrl(a), { token: me.accessToken });
    const onB = connectRawSocket(nodeUrl(b), { token: me.accessToken });
    const otherSession = connectRawSocket(nodeUrl(b), { token: login.body.accessToken });
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
    const again = connectRawSocket(nodeUrl(b), { token: me.accessToken });
    expect(await again.outcome).toBe('unauthorized');
    otherSession.socket.close();
  });

  // Both sockets start with a token valid for 10 s (9–10 s: expiry is in whole
  // seconds): ample time to connect and renew on a busy machine.
  it('an expiring token closes the socket unless renewed', { timeout: 40_000 }, async () => {
    const { b, api, a } = nodes;
    const me = await api.signup();
    const claims = JSON.parse(Buffer.from(me.accessToken.split('.')[1]!, 'base64url').toString());
    const short = await signAccessToken(
      { userId: me.id, sessionId: claims.sid },
      a.deps.config.jwtSecret,
      10_000,
    );
    const renewed = connectRawSocket(nodeUrl(b), { token: short });
    const expiring = connectRawSocket(nodeUrl(b), { token: short });
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
    const { b, api } = nodes;
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
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: me.accessToken });
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
    const canary = connectRawSocket(nodeUrl(b), { token: second.accessToken });
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
