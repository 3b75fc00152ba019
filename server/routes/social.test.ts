import { describe, expect, it } from 'vitest';
import { signup } from '../../test/helpers/builders.ts';
import { useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext();
const UNKNOWN = '01a21392-0000-7000-8000-000000000000';

const followersOf = async (id: string, token: string, query = '') =>
  ctx.request('GET', `/api/v1/users/${id}/followers${query}`, { token });

describe('users', () => {
  it('reads a profile; unknown, malformed and deleted ids are 404', async () => {
    const a = await signup(ctx);
    const b = await signup(ctx);
    const res = await ctx.request('GET', `/api/v1/users/${b.id}`, { token: a.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: b.id, handle: b.input.handle, followerCount: 0 });
    expect(res.body.email).toBeUndefined();
    for (const id of [UNKNOWN, 'not-an-id', '1;drop table users']) {
      const missing = await ctx.request('GET', `/api/v1/users/${encodeURIComponent(id)}`, {
        token: a.accessToken,
      });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
    }
    const deleted = await ctx.request('DELETE', '/api/v1/me', {
      token: b.accessToken,
      body: { password: b.input.password },
    });
    expect(deleted.status).toBe(202);
    expect(
      (await ctx.request('GET', `/api/v1/users/${b.id}`, { token: a.accessToken })).status,
    ).toBe(404);
  });

  it('needs authentication', async () => {
    const a = await signup(ctx);
    expect((await ctx.request('GET', `/api/v1/users/${a.id}`)).status).toBe(401);
    expect((await ctx.request('PUT', `/api/v1/users/${a.id}/follow`)).status).toBe(401);
  });
});

describe('follows', () => {
  it('follow and unfollow are idempotent and keep both counts right', async () => {
    const a = await signup(ctx);
    const b = await signup(ctx);
    for (let i = 0; i < 3; i++) {
      const res = await ctx.request('PUT', `/api/v1/users/${b.id}/follow`, {
        token: a.accessToken,
      });
      expect(res.status).toBe(204);
    }
    const counts = async () => ({
      a: (await ctx.request('GET', `/api/v1/users/${a.id}`, { token: a.accessToken })).body,
      b: (await ctx.request('GET', `/api/v1/users/${b.id}`, { token: a.accessToken })).body,
    });
    let now = await counts();
    expect([
      now.a.followingCount,
      now.a.followerCount,
      now.b.followerCount,
      now.b.followingCount,
    ]).toEqual([1, 0, 1, 0]);
    const [events] = await ctx.deps.sql`
      select count(*)::int as n from outbox
      where type = 'follow.created' and payload->>'followerId' = ${a.id} and payload->>'followeeId' = ${b.id}`;
    expect(events!.n).toBe(1);
    for (let i = 0; i < 2; i++) {
      expect(
        (await ctx.request('DELETE', `/api/v1/users/${b.id}/follow`, { token: a.accessToken }))
          .status,
      ).toBe(204);
    }
    now = await counts();
    expect([now.a.followingCount, now.b.followerCount]).toEqual([0, 0]);
  });

  it('refuses to follow yourself (400) or an unknown user (404)', async () => {
    const a = await signup(ctx);
    const self = await ctx.request('PUT', `/api/v1/users/${a.id}/follow`, { token: a.accessToken });
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('validation_failed');
    expect(
      (await ctx.request('PUT', `/api/v1/users/${UNKNOWN}/follow`, { token: a.accessToken }))
        .status,
    ).toBe(404);
    expect(
      (await ctx.request('PUT', '/api/v1/users/nope/follow', { token: a.accessToken })).status,
    ).toBe(404);
    expect(
      (await ctx.request('DELETE', `/api/v1/users/${UNKNOWN}/follow`, { token: a.accessToken }))
        .status,
    ).toBe(404);
  });

  it('keeps counts exact under concurrent follows, unfollows and mutual follows', async () => {
    const star = await signup(ctx);
    const fans = await Promise.all(Array.from({ length: 12 }, () => signup(ctx)));
    // Every fan follows the star (several times at once) and the star follows every fan back.
    await Promise.all(
      fans.flatMap((f) => [
        ctx.request('PUT', `/api/v1/users/${star.id}/follow`, { token: f.accessToken }),
        ctx.request('PUT', `/api/v1/users/${star.id}/follow`, { token: f.accessToken }),
        ctx.request('PUT', `/api/v1/users/${f.id}/follow`, { token: star.accessToken }),
      ]),
    );
    // Half of them unfollow while others re-follow.
    const results = await Promise.all(
      fans.flatMap((f, i) =>
        i % 2 === 0
          ? [
              ctx.request('DELETE', `/api/v1/users/${star.id}/follow`, { token: f.accessToken }),
              ctx.request('DELETE', `/api/v1/users/${star.id}/follow`, { token: f.accessToken }),
            ]
          : [ctx.request('PUT', `/api/v1/users/${star.id}/follow`, { token: f.accessToken })],
      ),
    );
    expect(results.every((r) => r.status === 204)).toBe(true);
    const [row] = await ctx.deps.sql`
      select follower_count as "followerCount", following_count as "followingCount",
        (select count(*)::int from follows where followee_id = ${star.id}) as "realFollowers",
        (select count(*)::int from follows where follower_id = ${star.id}) as "realFollowing"
      from users where id = ${star.id}`;
    expect(row).toEqual({
      followerCount: 6,
      followingCount: 12,
      realFollowers: 6,
      realFollowing: 12,
    });
    for (const f of fans) {
      const [fan] = await ctx.deps
        .sql`select follower_count, following_count from users where id = ${f.id}`;
      expect(fan).toEqual({
        follower_count: 1,
        following_count: fans.indexOf(f) % 2 === 0 ? 0 : 1,
      });
    }
  });

  it('lists followers and following newest first with keyset cursors', async () => {
    const target = await signup(ctx);
    const fans = [];
    for (let i = 0; i < 5; i++) {
      const f = await signup(ctx);
      await ctx.request('PUT', `/api/v1/users/${target.id}/follow`, { token: f.accessToken });
      fans.push(f);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await followersOf(
        target.id,
        target.accessToken,
        `?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      cursor = res.body.nextCursor;
      pages += 1;
      if (pages === 1) {
        // A follow that arrives while paging lands on top and never shifts later pages.
        const late = await signup(ctx);
        await ctx.request('PUT', `/api/v1/users/${target.id}/follow`, { token: late.accessToken });
      }
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(fans.map((f) => f.id).reverse());

    const following = await ctx.request('GET', `/api/v1/users/${fans[0]!.id}/following`, {
      token: target.accessToken,
    });
    expect(following.body).toEqual({
      items: [expect.objectContaining({ id: target.id })],
      nextCursor: null,
    });
  });

  it('pages exactly through edges made within one millisecond', async () => {
    const target = await signup(ctx);
    const fans = [];
    for (let i = 0; i < 4; i++) {
      const f = await signup(ctx);
      await ctx.request('PUT', `/api/v1/users/${target.id}/follow`, { token: f.accessToken });
      fans.push(f);
    }
    // Microseconds apart, in one millisecond: a cursor rounded to milliseconds would skip.
    for (const [i, f] of fans.entries()) {
      await ctx.deps.sql`
        update follows set created_at = timestamptz '2026-01-02 03:04:05.123000+00' + ${i} * interval '1 microsecond'
        where follower_id = ${f.id} and followee_id = ${target.id}`;
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await followersOf(
        target.id,
        target.accessToken,
        `?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(fans.map((f) => f.id).reverse());
  });

  it('handles list edges: empty, exact page size, bad cursors and limits', async () => {
    const lonely = await signup(ctx);
    expect((await followersOf(lonely.id, lonely.accessToken)).body).toEqual({
      items: [],
      nextCursor: null,
    });
    const fan = await signup(ctx);
    await ctx.request('PUT', `/api/v1/users/${lonely.id}/follow`, { token: fan.accessToken });
    const exact = await followersOf(lonely.id, lonely.accessToken, '?limit=1');
    expect(exact.body.items).toHaveLength(1);
    // With exactly `limit` rows there is no next page to promise.
    expect(exact.body.nextCursor).toBeNull();
    for (const query of [
      '?cursor=garbage',
      '?cursor=eyJhdCI6IngiLCJpZCI6InkifQ',
      `?cursor=${Buffer.from(JSON.stringify({ us: -1, id: UNKNOWN })).toString('base64url')}`,
      `?cursor=${Buffer.from(JSON.stringify({ us: 1e300, id: UNKNOWN })).toString('base64url')}`,
      `?cursor=${Buffer.from(JSON.stringify({ at: '2024-99-99 99:99:99+00', id: UNKNOWN })).toString('base64url')}`,
      '?limit=0',
      '?limit=101',
      '?limit=abc',
    ]) {
      const res = await followersOf(lonely.id, lonely.accessToken, query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
    expect((await followersOf(UNKNOWN, lonely.accessToken)).status).toBe(404);
  });
});
