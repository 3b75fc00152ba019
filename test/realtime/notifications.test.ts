import { describe, expect, it } from 'vitest';
import type { SignedUpUser } from '../helpers/builders.ts';
import { type HttpApi, httpApi } from '../helpers/http.ts';
import { listenForNotifications, nodeUrl, useThreeNodes } from '../helpers/realtime.ts';

const nodes = useThreeNodes({ SOCKET_EVENTS_PER_SECOND: '5' });

/** Waits until the user's inbox holds `count` unread notifications (the workers write them). */
async function untilUnread(api: HttpApi, user: SignedUpUser, count: number) {
  await expect
    .poll(
      async () =>
        (await api.call('GET', '/notifications/unread-count', user.accessToken)).body.count,
      { timeout: 10_000 },
    )
    .toBe(count);
}

describe('notifications across gateway nodes', () => {
  it('a follower on node B hears of a post made through node A, fanned out by a worker', async () => {
    const { a, b, api } = nodes;
    const author = await api.signup();
    const follower = await api.signup();
    await api.follow(follower, author);
    const onB = await listenForNotifications(nodes.cluster, b, follower.accessToken);
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
    const { a, b, api } = nodes;
    const author = await api.signup();
    const fan = await api.signup();
    const onA = await listenForNotifications(nodes.cluster, a, author.accessToken);
    const onB = await listenForNotifications(nodes.cluster, b, fan.accessToken);
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
    const { a, b, api } = nodes;
    const author = await api.signup();
    const other = await api.signup();
    const me = await api.signup();
    await api.follow(me, author);
    const first = await listenForNotifications(nodes.cluster, a, me.accessToken);
    const seenPost = await api.post(author);
    await first.next((n) => n.postId === seenPost.id);
    const last = first.client.lastNotificationId();
    first.client.close();

    // While away: two posts, a follow.
    const missed = [await api.post(author), await api.post(author)];
    await api.follow(other, me);
    // Wait until the inbox holds them (the pushes went nowhere).
    await untilUnread(api, me, 4);

    const again = await listenForNotifications(nodes.cluster, b, me.accessToken, {
      lastNotificationId: last,
    });
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
    const { api } = nodes;
    const me = await api.signup();
    const fans: SignedUpUser[] = [];
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
