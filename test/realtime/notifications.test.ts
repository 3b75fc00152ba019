import { describe, expect, it } from 'vitest';
import type { Notification } from '../../contract/index.ts';
import type { SignedUpUser } from '../helpers/builders.ts';
import { type HttpApi, httpApi } from '../helpers/http.ts';
import { listenForNotifications, nodeUrl, useThreeNodes } from '../helpers/realtime.ts';

// The contract of notifications, run twice: with every inbox written row by row, and with
// every author broadcast (each post one row, merged into each follower's inbox as it is
// read). Clients must not be able to tell the two apart.
describe.each([
  { mode: 'written inboxes', threshold: '0' },
  { mode: 'every author broadcast', threshold: '1' },
])('$mode', ({ threshold }) => {
  const nodes = useThreeNodes({
    SOCKET_EVENTS_PER_SECOND: '5',
    FANOUT_BROADCAST_THRESHOLD: threshold,
  });

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
      expect(c).toMatchObject({
        postId: post.id,
        commentId: comment.body.id,
        actor: { id: fan.id },
      });
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
      expect(rest.body).toMatchObject({
        items: [{ actor: { id: fans[0]!.id } }],
        nextCursor: null,
      });
      const [newest, second, third, oldest] = [...all.body.items, ...rest.body.items];

      expect(
        (await api.call('POST', '/notifications/read', me.accessToken, { ids: [newest.id] }))
          .status,
      ).toBe(204);
      expect(
        (await api.call('GET', '/notifications/unread-count', me.accessToken)).body.count,
      ).toBe(3);
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

  it('shows each post to those who followed its author when it went out, pages and marks them read per item, and drops deleted posts and accounts', async () => {
    const { a, api } = nodes;
    const sql = a.deps.sql;
    const [ana, bo, me, late] = [
      await api.signup(),
      await api.signup(),
      await api.signup(),
      await api.signup(),
    ];
    await api.follow(me, ana);
    await api.follow(me, bo);
    // Bo keeps an audience after `me` leaves, so that Bo's later posts still go out.
    await api.follow(await api.signup(), bo);
    const inbox = async (user: SignedUpUser, query = '') =>
      (await api.call('GET', `/notifications${query}`, user.accessToken)).body as {
        items: Notification[];
        nextCursor: string | null;
      };
    const postIds = async (user: SignedUpUser) =>
      (await inbox(user, '?limit=100')).items.map((n) => n.postId);
    // One at a time, so that the inbox's order is the posts' order.
    const p1 = await api.post(ana, { body: 'first' });
    await untilUnread(api, me, 1);
    const p2 = await api.post(bo, { body: 'second' });
    await untilUnread(api, me, 2);

    // Stored as the mode says: a row per follower, or one row per post.
    const [stored] = await sql<{ written: number; broadcast: number }[]>`
      select (select count(*)::int from notifications where post_id = ${p1.id}) as written,
        (select count(*)::int from broadcast_notifications where post_id = ${p1.id}) as broadcast`;
    expect(stored).toEqual(
      threshold === '0' ? { written: 1, broadcast: 0 } : { written: 0, broadcast: 1 },
    );

    // Pages of one, newest first, with a cursor that holds while more arrive.
    const page1 = await inbox(me, '?limit=1');
    expect(page1.items.map((n) => n.postId)).toEqual([p2.id]);
    expect(page1.items[0]).toMatchObject({ type: 'post', actor: { id: bo.id }, readAt: null });
    // Someone who follows after a post went out does not get that post, but the next one.
    await api.follow(late, ana);
    const p3 = await api.post(ana, { body: 'third' });
    await untilUnread(api, me, 3);
    await untilUnread(api, late, 1);
    expect(await postIds(late)).toEqual([p3.id]);
    const page2 = await inbox(me, `?limit=1&cursor=${page1.nextCursor}`);
    expect(page2.items.map((n) => n.postId)).toEqual([p1.id]);
    expect(await postIds(me)).toEqual([p3.id, p2.id, p1.id]);

    // An unfollow hides what comes after it, not what came before.
    expect((await api.call('DELETE', `/users/${bo.id}/follow`, me.accessToken)).status).toBe(204);
    const p4 = await api.post(bo, { body: 'fourth' });
    const p5 = await api.post(ana, { body: 'fifth' });
    await untilUnread(api, me, 4);
    expect(await postIds(me)).toEqual([p5.id, p3.id, p2.id, p1.id]);
    expect((await postIds(me)).includes(p4.id)).toBe(false);

    // Marked read one by one or up to one, each keeping the time it was read.
    const ids = Object.fromEntries((await inbox(me)).items.map((n) => [n.postId, n.id]));
    expect(
      (await api.call('POST', '/notifications/read', me.accessToken, { ids: [ids[p1.id]] })).status,
    ).toBe(204);
    await untilUnread(api, me, 3);
    const readFirst = (await inbox(me)).items.find((n) => n.postId === p1.id)!.readAt;
    expect(readFirst).not.toBeNull();
    expect(
      (await api.call('POST', '/notifications/read', me.accessToken, { upTo: ids[p3.id] })).status,
    ).toBe(204);
    await untilUnread(api, me, 1);
    expect((await inbox(me, '?unread=true')).items.map((n) => n.postId)).toEqual([p5.id]);
    const after = (await inbox(me)).items;
    expect(after.find((n) => n.postId === p1.id)!.readAt).toBe(readFirst);
    expect(after.find((n) => n.postId === p2.id)!.readAt).not.toBeNull();
    // Marking again changes nothing.
    expect(
      (await api.call('POST', '/notifications/read', me.accessToken, { upTo: ids[p3.id] })).status,
    ).toBe(204);
    expect((await inbox(me)).items).toEqual(after);

    // A deleted post leaves every inbox; so does everything of a deleted account.
    expect((await api.call('DELETE', `/posts/${p2.id}`, bo.accessToken)).status).toBe(204);
    await expect.poll(() => postIds(me), { timeout: 10_000 }).toEqual([p5.id, p3.id, p1.id]);
    expect(
      (await api.call('DELETE', '/me', ana.accessToken, { password: ana.input.password })).status,
    ).toBe(202);
    await expect.poll(() => postIds(me), { timeout: 20_000 }).toEqual([]);
    await expect.poll(() => postIds(late), { timeout: 20_000 }).toEqual([]);
    await untilUnread(api, me, 0);
  });
});
