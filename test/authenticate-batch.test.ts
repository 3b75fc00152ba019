import { describe, expect, it } from 'vitest';
import { authenticate } from '../domain/auth/authenticate.ts';
import { signAccessToken } from '../domain/auth/tokens.ts';
import { useInProcessNodes } from './helpers/realtime.ts';

// Session lookups asked for in one turn of the event loop share one query
// (domain/auth/authenticate.ts): each must still get its own session's answer.
const cluster = useInProcessNodes();

describe('authenticate, many at once', () => {
  it('answers each token by its own session: live, revoked, expired, of a deleted user, or of someone else', async () => {
    const node = await cluster.start('server');
    const { sql, config } = node.deps;
    const users = await sql<{ id: string }[]>`
      insert into users (email, handle, display_name, password_hash)
      select 'batch' || i || '@example.com', 'batch' || i, 'Batch ' || i, 'scrypt$x'
      from generate_series(1, 5) as i returning id`;
    const [live, revoked, expired, deleted, other] = users.map((u) => u.id) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const sessionOf = async (userId: string, state: 'live' | 'revoked' | 'expired') => {
      const [row] = await sql<{ id: string }[]>`
        insert into sessions (user_id, expires_at, revoked_at)
        values (${userId},
          now() + ${state === 'expired' ? '-1 hour' : '1 day'}::interval,
          ${state === 'revoked' ? new Date() : null})
        returning id`;
      return row!.id;
    };
    await sql`update users set deleted_at = now() where id = ${deleted}`;
    const sign = (userId: string, sessionId: string) =>
      signAccessToken({ userId, sessionId }, config.jwtSecret, 60_000);
    const liveSession = await sessionOf(live, 'live');
    const cases = [
      { token: await sign(live, liveSession), ok: true },
      { token: await sign(live, liveSession), ok: true },
      { token: await sign(revoked, await sessionOf(revoked, 'revoked')), ok: false },
      { token: await sign(expired, await sessionOf(expired, 'expired')), ok: false },
      { token: await sign(deleted, await sessionOf(deleted, 'live')), ok: false },
      // A live session, named in a token of another user.
      { token: await sign(other, liveSession), ok: false },
      { token: await sign(other, await sessionOf(other, 'live')), ok: true },
    ];
    for (const fresh of [true, false]) {
      const answers = await Promise.all(
        cases.map(({ token }) =>
          authenticate(node.deps, token, { fresh }).then(
            () => true,
            (err: { code?: string }) => {
              expect(err.code).toBe('unauthorized');
              return false;
            },
          ),
        ),
      );
      expect(answers).toEqual(cases.map((c) => c.ok));
    }
    // Alone in its turn.
    await expect(authenticate(node.deps, cases[2]!.token, { fresh: true })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(await authenticate(node.deps, cases[0]!.token, { fresh: true })).toMatchObject({
      userId: live,
      sessionId: liveSession,
    });
  });
});
