import { describe, expect, it } from 'vitest';
import { createPost, signup } from '../../test/helpers/builders.ts';
import { useTestContext } from '../../test/helpers/context.ts';

const ctx = useTestContext();
const UNKNOWN = '01a21392-0000-7000-8000-000000000000';

const getPost = async (id: string, token: string) =>
  (await ctx.request('GET', `/api/v1/posts/${id}`, { token })).body;

describe('comments', () => {
  it('adds comments, lists them oldest first with cursors, and counts them', async () => {
    const author = await signup(ctx);
    const fan = await signup(ctx);
    const post = await createPost(ctx, author);
    const created = [];
    for (const body of ['First!', 'So fluffy', 'Where is this?']) {
      const res = await ctx.request('POST', `/api/v1/posts/${post.id}/comments`, {
        token: fan.accessToken,
        body: { body },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ postId: post.id, body, author: { id: fan.id } });
      created.push(res.body.id);
    }
    const first = await ctx.request('GET', `/api/v1/posts/${post.id}/comments?limit=2`, {
      token: author.accessToken,
    });
    const second = await ctx.request(
      'GET',
      `/api/v1/posts/${post.id}/comments?limit=2&cursor=${first.body.nextCursor}`,
      {
        token: author.accessToken,
      },
    );
    expect([...first.body.items, ...second.body.items].map((c: { id: string }) => c.id)).toEqual(
      created,
    );
    expect(second.body.nextCursor).toBeNull();
    expect((await getPost(post.id, fan.accessToken)).commentCount).toBe(3);
    const [events] = await ctx.deps.sql`
      select count(*)::int as n from outbox where type = 'comment.created' and payload->>'postId' = ${post.id}
        and payload->>'postAuthorId' = ${author.id}`;
    expect(events!.n).toBe(3);
  });

  it("lets the comment's author and the post's author delete, nobody else", async () => {
    const author = await signup(ctx);
    const commenter = await signup(ctx);
    const bystander = await signup(ctx);
    const post = await createPost(ctx, author);
    const say = async () =>
      (
        await ctx.request('POST', `/api/v1/posts/${post.id}/comments`, {
          token: commenter.accessToken,
          body: { body: 'hi' },
        })
      ).body.id;
    const c1 = await say();
    const c2 = await say();
    const denied = await ctx.request('DELETE', `/api/v1/comments/${c1}`, {
      token: bystander.accessToken,
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('forbidden');
    expect(
      (await ctx.request('DELETE', `/api/v1/comments/${c1}`, { token: commenter.accessToken }))
        .status,
    ).toBe(204);
    expect(
      (await ctx.request('DELETE', `/api/v1/comments/${c2}`, { token: author.accessToken })).status,
    ).toBe(204);
    expect(
      (await ctx.request('DELETE', `/api/v1/comments/${c2}`, { token: author.accessToken })).status,
    ).toBe(404);
    expect((await getPost(post.id, author.accessToken)).commentCount).toBe(0);
  });

  it('rejects bad comments and unknown posts', async () => {
    const a = await signup(ctx);
    const post = await createPost(ctx, a);
    for (const body of [
      {},
      { body: '' },
      { body: '   ' },
      { body: 'x'.repeat(1001) },
      { body: 5 },
    ]) {
      const res = await ctx.request('POST', `/api/v1/posts/${post.id}/comments`, {
        token: a.accessToken,
        body,
      });
      expect(res.status, JSON.stringify(body).slice(0, 30)).toBe(400);
    }
    expect(
      (
        await ctx.request('POST', `/api/v1/posts/${UNKNOWN}/comments`, {
          token: a.accessToken,
          body: { body: 'hi' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await ctx.request('GET', `/api/v1/posts/${UNKNOWN}/comments`, { token: a.accessToken }))
        .status,
    ).toBe(404);
    expect(
      (await ctx.request('DELETE', '/api/v1/comments/nope', { token: a.accessToken })).status,
    ).toBe(404);
    expect((await getPost(post.id, a.accessToken)).commentCount).toBe(0);
  });
});

describe('likes', () => {
  it('are idempotent, show as likedByMe, and record like.created once', async () => {
    const author = await signup(ctx);
    const fan = await signup(ctx);
    const post = await createPost(ctx, author);
    for (let i = 0; i < 3; i++) {
      expect(
        (await ctx.request('PUT', `/api/v1/posts/${post.id}/like`, { token: fan.accessToken }))
          .status,
      ).toBe(204);
    }
    expect(await getPost(post.id, fan.accessToken)).toMatchObject({
      likeCount: 1,
      likedByMe: true,
    });
    expect(await getPost(post.id, author.accessToken)).toMatchObject({
      likeCount: 1,
      likedByMe: false,
    });
    const [events] = await ctx.deps.sql`
      select count(*)::int as n from outbox where type = 'like.created' and payload->>'postId' = ${post.id}`;
    expect(events!.n).toBe(1);
    for (let i = 0; i < 2; i++) {
      expect(
        (await ctx.request('DELETE', `/api/v1/posts/${post.id}/like`, { token: fan.accessToken }))
          .status,
      ).toBe(204);
    }
    expect(await getPost(post.id, fan.accessToken)).toMatchObject({
      likeCount: 0,
      likedByMe: false,
    });
  });

  it('count exactly under concurrent likes and unlikes', async () => {
    const author = await signup(ctx);
    const post = await createPost(ctx, author);
    const fans = await Promise.all(Array.from({ length: 10 }, () => signup(ctx)));
    await Promise.all(
      fans.flatMap((f) => [
        ctx.request('PUT', `/api/v1/posts/${post.id}/like`, { token: f.accessToken }),
        ctx.request('PUT', `/api/v1/posts/${post.id}/like`, { token: f.accessToken }),
      ]),
    );
    await Promise.all(
      fans
        .slice(0, 4)
        .map((f) =>
          ctx.request('DELETE', `/api/v1/posts/${post.id}/like`, { token: f.accessToken }),
        ),
    );
    expect((await getPost(post.id, author.accessToken)).likeCount).toBe(6);
  });

  it('answer 404 for unknown posts', async () => {
    const a = await signup(ctx);
    expect(
      (await ctx.request('PUT', `/api/v1/posts/${UNKNOWN}/like`, { token: a.accessToken })).status,
    ).toBe(404);
    expect(
      (await ctx.request('DELETE', `/api/v1/posts/${UNKNOWN}/like`, { token: a.accessToken }))
        .status,
    ).toBe(404);
  });
});
