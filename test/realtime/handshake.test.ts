import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../../domain/auth/tokens.ts';
import {
  connectRawSocket,
  listenForNotifications,
  nodeUrl,
  useThreeNodes,
} from '../helpers/realtime.ts';

// What a gateway refuses at the door, and what a connected client cannot break.
const nodes = useThreeNodes({ SOCKET_EVENTS_PER_SECOND: '5' });

describe('handshake', () => {
  it('refuses a missing, malformed or forged token with connect_error "unauthorized"', async () => {
    const { b, api } = nodes;
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
      const { socket, outcome } = connectRawSocket(nodeUrl(b), auth);
      expect(await outcome).toBe('unauthorized');
      socket.close();
    }
    const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: user.accessToken });
    expect(await outcome).toBe('connected');
    socket.close();
  });
});

describe('socket robustness', () => {
  it('answers malformed payloads and unknown events with error acks and keeps the connection', async () => {
    const { b, api } = nodes;
    const me = await api.signup();
    const l = await listenForNotifications(nodes.cluster, b, me.accessToken);
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
      const { b, api } = nodes;
      const flooder = await api.signup();
      const { socket, outcome } = connectRawSocket(nodeUrl(b), { token: flooder.accessToken });
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
      const fine = connectRawSocket(nodeUrl(b), { token: someone.accessToken });
      expect(await fine.outcome).toBe('connected');
      fine.socket.close();
    },
  );
});
