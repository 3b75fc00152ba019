import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EVENTS_STREAM, type Notification } from '../../contract/index.ts';
import type { SignedUpUser } from '../helpers/builders.ts';
import type { HttpApi } from '../helpers/http.ts';
import { listenForNotifications, useThreeNodes } from '../helpers/realtime.ts';

// Broadcast authors with a threshold of three followers: authors cross it both ways as
// people follow and unfollow, in the middle of their posts and their followers' reads.
const nodes = useThreeNodes({ FANOUT_BROADCAST_THRESHOLD: '3' });

async function inbox(api: HttpApi, user: SignedUpUser): Promise<Notification[]> {
  return (await api.call('GET', '/notifications?limit=100', user.accessToken)).body.items;
}

async function unread(api: HttpApi, user: SignedUpUser): Promise<number> {
  return (await api.call('GET', '/notifications/unread-count', user.accessToken)).body.count;
}

/** The posts in the user's inbox, newest first, once the inbox holds `count` of them. */
async function postsInInbox(api: HttpApi, user: SignedUpUser, count: number) {
  await expect
    .poll(async () => (await inbox(api, user)).filter((n) => n.type === 'post').length, {
      timeout: 10_000,
    })
    .toBe(count);
  return (await inbox(api, user)).filter((n) => n.type === 'post').map((n) => n.postId);
}

/** Whether the consumer group has read the stream entry `id` and acknowledged all it read. */
async function handledBy(redis: Redis, group: string, id: string): Promise<boolean> {
  const field = (flat: unknown[], name: string) => flat[flat.indexOf(name) + 1];
  // ioredis does not prefix XINFO's key (it follows the subcommand).
  const groups = (await redis.xinfo(
    'GROUPS',
    `${redis.options.keyPrefix ?? ''}${EVENTS_STREAM}`,
  )) as unknown[][];
  const info = groups.find((g) => field(g, 'name') === group);
  if (!info) return false;
  const [ms, n] = String(field(info, 'last-delivered-id')).split('-').map(Number);
  const [wantMs, wantN] = id.split('-').map(Number);
  const read = ms! > wantMs! || (ms === wantMs && n! >= wantN!);
  return read && Number(field(info, 'pending')) === 0;
}

/** How the post reached the inbox: rows per follower, and its one broadcast row. */
async function storage(postId: string) {
  const [row] = await nodes.a.deps.sql<{ written: number; broadcast: number }[]>`
    select (select count(*)::int from notifications where post_id = ${postId}) as written,
      (select count(*)::int from broadcast_notifications where post_id = ${postId}) as broadcast`;
  return row!;
}

describe('an author crossing the broadcast threshold', () => {
  it('loses no post and shows none twice, in the inbox, the unread count and the live pushes', async () => {
    const { api, b } = nodes;
    const author = await api.signup();
    const [f1, f2, f3] = [await api.signup(), await api.signup(), await api.signup()];
    await api.follow(f1, author);
    await api.follow(f2, author);
    const live = await listenForNotifications(nodes.cluster, b, f1.accessToken);
    const heard = async (postId: string) => {
      await live.next((n) => n.postId === postId);
    };

    // Two followers: below the threshold, a row each.
    const a1 = await api.post(author, { body: 'a1' });
    await heard(a1.id);
    expect(await postsInInbox(api, f1, 1)).toEqual([a1.id]);
    expect(await storage(a1.id)).toEqual({ written: 2, broadcast: 0 });

    // A third follower: the author broadcasts from the next post on. The first broadcast
    // reaches online followers through their own rooms and puts them in the author's; the
    // next goes to the author's room alone.
    await api.follow(f3, author);
    const a2 = await api.post(author, { body: 'a2' });
    await heard(a2.id);
    expect(await postsInInbox(api, f1, 2)).toEqual([a2.id, a1.id]);
    expect(await storage(a2.id)).toEqual({ written: 0, broadcast: 1 });
    const a3 = await api.post(author, { body: 'a3' });
    await heard(a3.id);
    expect(await storage(a3.id)).toEqual({ written: 0, broadcast: 1 });
    expect(await unread(api, f1)).toBe(3);

    // Back below: rows again, pushed to each follower's room.
    expect((await api.call('DELETE', `/users/${author.id}/follow`, f3.accessToken)).status).toBe(
      204,
    );
    const a4 = await api.post(author, { body: 'a4' });
    await heard(a4.id);
    expect(await postsInInbox(api, f1, 4)).toEqual([a4.id, a3.id, a2.id, a1.id]);
    expect(await storage(a4.id)).toEqual({ written: 2, broadcast: 0 });

    // And above again.
    await api.follow(f3, author);
    const a5 = await api.post(author, { body: 'a5' });
    await heard(a5.id);
    expect(await storage(a5.id)).toEqual({ written: 0, broadcast: 1 });

    // Each post once, in order, for each follower; a follower sees what was posted while
    // they followed.
    expect(await postsInInbox(api, f1, 5)).toEqual([a5.id, a4.id, a3.id, a2.id, a1.id]);
    expect(await postsInInbox(api, f2, 5)).toEqual([a5.id, a4.id, a3.id, a2.id, a1.id]);
    expect(await postsInInbox(api, f3, 3)).toEqual([a5.id, a3.id, a2.id]);
    expect(await unread(api, f1)).toBe(5);
    expect(await unread(api, f3)).toBe(3);
    const pushed = live.received.filter((n) => n.type === 'post').map((n) => n.postId);
    expect(pushed).toEqual([a1.id, a2.id, a3.id, a4.id, a5.id]);

    // The post's fan-out handled again now that the author is above the threshold (a
    // retry, a redelivery): it keeps the mode it was first given, and nothing changes.
    const [outbox] = await nodes.a.deps.sql<{ id: string; eventId: string; payload: unknown }[]>`
      select id::text, event_id as "eventId", payload from outbox
      where type = 'post.created' and payload->>'postId' = ${a4.id}`;
    const redis = nodes.a.deps.redis;
    const again = (await redis.xadd(
      EVENTS_STREAM,
      '*',
      'eventId',
      outbox!.eventId,
      'outboxId',
      outbox!.id,
      'event',
      JSON.stringify(outbox!.payload),
    ))!;
    await expect.poll(() => handledBy(redis, 'fanout', again), { timeout: 10_000 }).toBe(true);
    // Still written: a written fan-out run again writes for whoever follows now (f3 too, as
    // it always has), and no broadcast row appears beside the rows.
    expect(await storage(a4.id)).toEqual({ written: 3, broadcast: 0 });
    expect(await postsInInbox(api, f1, 5)).toEqual([a5.id, a4.id, a3.id, a2.id, a1.id]);
    expect(await unread(api, f1)).toBe(5);
    const a4Id = (await inbox(api, f1)).find((n) => n.postId === a4.id)!.id;
    await api.call('POST', '/notifications/read', f1.accessToken, { ids: [a4Id] });
    expect(await unread(api, f1)).toBe(4);
    // Synced from the start, the same five, once each.
    const synced = await live.client.emitWithAck('notifications:sync', {});
    expect('data' in synced && synced.data.items.map((n) => n.postId)).toEqual([
      a1.id,
      a2.id,
      a3.id,
      a4.id,
      a5.id,
    ]);
  });
});

describe('a broadcast author’s room', () => {
  it('holds the sockets of followers online at the first broadcast, connecting later, or following meanwhile, and lets go of those who unfollow', async () => {
    const { api, a, b } = nodes;
    const author = await api.signup();
    const [early, late, newcomer, leaver, other] = [
      await api.signup(),
      await api.signup(),
      await api.signup(),
      await api.signup(),
      await api.signup(),
    ];
    for (const f of [early, late, leaver, other]) await api.follow(f, author);
    const onEarly = await listenForNotifications(nodes.cluster, a, early.accessToken);
    const onLeaver = await listenForNotifications(nodes.cluster, b, leaver.accessToken);
    const onNewcomer = await listenForNotifications(nodes.cluster, b, newcomer.accessToken);

    // The first broadcast: to each follower's room, and their sockets join the author's.
    const first = await api.post(author, { body: 'first' });
    await onEarly.next((n) => n.postId === first.id);
    await expect
      .poll(
        async () =>
          (
            await a.deps.sql<{ ready: boolean }[]>`
              select rooms_ready as ready from broadcast_authors where author_id = ${author.id}`
          )[0]?.ready,
      )
      .toBe(true);

    // Connected after it, followed after it, or leaving.
    const onLate = await listenForNotifications(nodes.cluster, a, late.accessToken);
    await api.follow(newcomer, author);
    expect(
      (await api.call('DELETE', `/users/${author.id}/follow`, leaver.accessToken)).status,
    ).toBe(204);
    const second = await api.post(author, { body: 'second' });
    for (const listener of [onEarly, onLate, onNewcomer]) {
      await listener.next((n) => n.postId === second.id);
    }
    // The room's emit reached the others on the leaver's node; an ack on the leaver's
    // socket, written after anything sent to it before, shows it got nothing.
    await onLeaver.client.emitWithAck('notifications:sync', { after: undefined });
    expect(onLeaver.received.some((n) => n.postId === second.id)).toBe(false);
    expect(onNewcomer.received.some((n) => n.postId === first.id)).toBe(false);
    expect(await storage(second.id)).toEqual({ written: 0, broadcast: 1 });
  });
});
