import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_STREAM, FANOUT_STREAM, type Notification, userRoom } from '../contract/index.ts';
import { createSql, type Sql } from '../core/db.ts';
import type { Deps } from '../core/deps.ts';
import { createRedisAdapter } from '../gateway/adapter.ts';
import {
  buildNotification,
  createPost,
  type SignedUpUser,
  signup,
} from '../test/helpers/builders.ts';
import { useTestContext } from '../test/helpers/context.ts';
import { startConsumer } from './consumer.ts';
import { postFanout } from './fanout.ts';
import { relayOnce } from './relay.ts';
import type { StreamMessage } from './stream-worker.ts';

const ctx = useTestContext({ FANOUT_CHUNK_SIZE: '10', STREAM_BLOCK: '100ms' });

/** Deps whose PostgreSQL client reports every statement it sends (postgres.js `debug`). */
interface CountingDeps {
  deps: Deps;
  statements: string[];
  sql: Sql;
}
const counting: CountingDeps[] = [];
async function countingDeps(): Promise<CountingDeps> {
  const statements: string[] = [];
  const sql = createSql(ctx.deps.config, undefined, {
    debug: (_conn: number, query: string) => statements.push(query),
  });
  // The connection's own start-up queries (array types) are not the fan-out's.
  await sql`select 1`;
  statements.length = 0;
  const made = { deps: { ...ctx.deps, sql }, statements, sql };
  counting.push(made);
  return made;
}

/** Users straight in SQL (followers need no password or token). */
async function makeUsers(count: number): Promise<string[]> {
  const tag = Math.random().toString(36).slice(2, 8);
  const rows = await ctx.deps.sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select 'b' || ${tag} || '_' || i || '@example.com', 'b' || ${tag} || '_' || i, 'B ' || i, 'scrypt$x'
    from generate_series(1, ${count}) as i
    returning id`;
  return rows.map((r) => r.id);
}

async function makeFollow(followers: string[], authorId: string): Promise<void> {
  await ctx.deps.sql`
    insert into follows (follower_id, followee_id)
    select unnest(${followers}::uuid[]), ${authorId}`;
}

/** The events stream as the consumer reads it, after relaying what is committed. */
async function streamMessages(): Promise<StreamMessage[]> {
  await relayOnce(ctx.deps);
  const entries = await ctx.deps.redis.xrange(EVENTS_STREAM, '-', '+');
  return entries.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields, deliveries: 1 };
  });
}

const eventOf = (m: StreamMessage) => JSON.parse(m.fields.event ?? '{}');

/** The `post.created` messages of these posts, in the order of the stream. */
async function messagesOf(postIds: string[]): Promise<StreamMessage[]> {
  const wanted = new Set(postIds);
  const found = (await streamMessages()).filter(
    (m) => eventOf(m).type === 'post.created' && wanted.has(eventOf(m).postId),
  );
  expect(found).toHaveLength(postIds.length);
  return found;
}

const eventIdOf = (m: StreamMessage) => m.fields.eventId!;

/** What the consumer does with one read: every message handled at once. */
const handleTogether = (deps: Deps, messages: StreamMessage[]) =>
  Promise.allSettled(messages.map((m) => postFanout.handle(m, deps)));

async function inboxPairs(eventIds: string[]): Promise<string[]> {
  const rows = await ctx.deps.sql<{ userId: string; id: string }[]>`
    select user_id as "userId", id from notifications where id = any(${eventIds}::uuid[])`;
  return rows.map((r) => `${r.userId} ${r.id}`).sort();
}

// A real Socket.IO server on the gateway's Redis adapter: a socket per follower in its
// room, so a push is seen exactly as a follower's app would see it.
let server: Server;
let serverUrl = '';
let closeAdapter: () => Promise<void> = async () => {};
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  const adapter = createRedisAdapter(ctx.deps);
  closeAdapter = adapter.close;
  const http = createServer();
  server = new Server(http, { adapter: adapter.adapter, transports: ['websocket'] });
  server.on('connection', (socket) => {
    socket.join(userRoom(String(socket.handshake.auth.userId)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

/** Pushes published before the adapter has subscribed would be lost to the test. */
async function adapterSubscribed(): Promise<void> {
  const problem = ctx.deps.lifecycle.checks?.get('gateway');
  expect(problem).toBeDefined();
  await expect.poll(async () => problem!(), { timeout: 10_000 }).toBeUndefined();
}

afterAll(async () => {
  for (const s of sockets) s.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await closeAdapter();
  await Promise.all(counting.map((c) => c.sql.end({ timeout: 5 })));
});

/** A socket in the user's room, recording the notifications pushed to it. */
async function listen(userId: string): Promise<{ received: Notification[]; socket: ClientSocket }> {
  const socket = connect(serverUrl, { transports: ['websocket'], auth: { userId } });
  sockets.push(socket);
  const received: Notification[] = [];
  socket.on('notification', (n: Notification) => received.push(n));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return { received, socket };
}

/**
 * What each socket has heard, once every push made so far has arrived: a marker
 * published after them on the same connection reaches each socket after them
 * (Redis delivers one connection's publishes in order).
 */
async function heardSoFar(listeners: Map<string, { received: Notification[] }>) {
  const marker = `marker-${Math.random()}`;
  for (const id of listeners.keys()) {
    ctx.deps.emitter.to(userRoom(id)).emit('notification', buildNotification({ id: marker }));
  }
  const all = [...listeners.values()];
  await expect
    .poll(() => all.every((l) => l.received.some((n) => n.id === marker)), { timeout: 10_000 })
    .toBe(true);
  const heard: string[] = [];
  for (const [id, l] of listeners) {
    for (const n of l.received.splice(0)) if (n.id !== marker) heard.push(`${id} ${n.id}`);
  }
  return heard.sort();
}

/** A list of known length, for destructuring. */
type Tuple<T, N extends number, Acc extends T[] = []> = Acc['length'] extends N
  ? Acc
  : Tuple<T, N, [...Acc, T]>;

describe('post fan-out in batches', () => {
  // Authors of each test's own, so no test sees another's followers.
  const newAuthors = async (count: number) => {
    const made: SignedUpUser[] = [];
    for (let i = 0; i < count; i++) made.push(await signup(ctx));
    return made;
  };

  it('tells each follower of each post of one read, in four statements, and nobody of a deleted post', async () => {
    const [a, b, c, d] = (await newAuthors(4)) as Tuple<SignedUpUser, 4>;
    const users = await makeUsers(7);
    const [f1, f2, f3, f4, f5, gone, dFollower] = users as Tuple<string, 7>;
    await makeFollow([f1, f2, f3], a.id);
    await makeFollow([f3, f4], b.id); // f3 follows both a and b
    await makeFollow([f5, gone], c.id);
    await makeFollow([dFollower], d.id);
    await ctx.deps.sql`update users set deleted_at = now() where id = ${gone}`;

    const posts = {
      a1: await createPost(ctx, a),
      a2: await createPost(ctx, a),
      b: await createPost(ctx, b),
      c: await createPost(ctx, c),
      d: await createPost(ctx, d),
    };
    const messages = await messagesOf(Object.values(posts).map((p) => p.id as string));
    const eventIdOfPost = (id: string) =>
      eventIdOf(messages.find((m) => eventOf(m).postId === id)!);
    const event = {
      a1: eventIdOfPost(posts.a1.id),
      a2: eventIdOfPost(posts.a2.id),
      b: eventIdOfPost(posts.b.id),
      c: eventIdOfPost(posts.c.id),
      d: eventIdOfPost(posts.d.id),
    };
    // d's post is deleted after it was published, before its fan-out.
    const del = await ctx.request('DELETE', `/api/v1/posts/${posts.d.id}`, {
      token: d.accessToken,
    });
    expect(del.status).toBe(204);

    await adapterSubscribed();
    const listeners = new Map<string, { received: Notification[] }>();
    for (const id of users) listeners.set(id, await listen(id));

    const { deps, statements } = await countingDeps();
    const results = await handleTogether(deps, messages);
    expect(results.map((r) => r.status)).toEqual(messages.map(() => 'fulfilled'));
    // One read of five posts: one statement to learn about the posts and their authors,
    // one to record each post's mode (written, here), one for the followers of them all,
    // one insert. Before, ~5 per post.
    expect(statements).toHaveLength(4);

    const expected = [
      ...[f1, f2, f3].flatMap((f) => [`${f} ${event.a1}`, `${f} ${event.a2}`]),
      ...[f3, f4].map((f) => `${f} ${event.b}`),
      `${f5} ${event.c}`,
    ].sort();
    expect(await inboxPairs(Object.values(event))).toEqual(expected);

    // Pushes: each follower heard exactly of the posts of those they follow, once each.
    expect(await heardSoFar(listeners)).toEqual(expected);
  });

  it('gets one read of the consumer loop as one batch', async () => {
    const authors = await newAuthors(5);
    const followers = await makeUsers(3);
    for (const author of authors) await makeFollow(followers, author.id);
    const ids: string[] = [];
    for (const author of authors) {
      ids.push((await createPost(ctx, author)).id, (await createPost(ctx, author)).id);
    }
    const messages = await messagesOf(ids);
    // The same messages on a stream of this test's own, so the loop reads these ten only.
    const stream = `test-fanout-batch-${Date.now()}`;
    for (const m of messages) {
      await ctx.deps.redis.xadd(stream, '*', ...Object.entries(m.fields).flat());
    }
    const { deps, statements } = await countingDeps();
    const consumer = await startConsumer(deps, { ...postFanout, stream });
    try {
      await expect
        .poll(async () => (await inboxPairs(messages.map(eventIdOf))).length, { timeout: 15_000 })
        .toBe(10 * 3);
      await expect
        .poll(async () => ((await ctx.deps.redis.xpending(stream, 'fanout')) as [number])[0])
        .toBe(0);
    } finally {
      await consumer.stop();
    }
    expect(statements).toHaveLength(4);
  });

  it('pushes the notification with its actor, and inserts nothing twice on redelivery', async () => {
    const [a] = (await newAuthors(1)) as [SignedUpUser];
    const [follower] = (await makeUsers(1)) as [string];
    await makeFollow([follower], a.id);
    const post = await createPost(ctx, a);
    const messages = await messagesOf([post.id]);
    await adapterSubscribed();
    const listener = await listen(follower);
    const { deps } = await countingDeps();

    await handleTogether(deps, messages);
    await expect.poll(() => listener.received.length, { timeout: 10_000 }).toBe(1);
    expect(listener.received[0]).toMatchObject({
      id: eventIdOf(messages[0]!),
      type: 'post',
      postId: post.id,
      actor: { id: a.id, handle: a.input.handle },
    });
    // Delivered again, alone and beside itself in one read: still one row.
    await handleTogether(deps, [...messages, ...messages]);
    expect(await inboxPairs([eventIdOf(messages[0]!)])).toEqual([
      `${follower} ${eventIdOf(messages[0]!)}`,
    ]);
  });

  it('costs the same four statements for one post as for twenty-four', async () => {
    const authors = await newAuthors(4);
    const followers = await makeUsers(4);
    for (const author of authors) await makeFollow(followers, author.id);
    const one = await messagesOf([(await createPost(ctx, authors[0]!)).id]);
    const many: string[] = [];
    for (let i = 0; i < 6; i++) {
      for (const author of authors) many.push((await createPost(ctx, author)).id);
    }
    const manyMessages = await messagesOf(many);

    const single = await countingDeps();
    await handleTogether(single.deps, one);
    const batch = await countingDeps();
    const results = await handleTogether(batch.deps, manyMessages);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);

    expect(single.statements).toHaveLength(4);
    expect(batch.statements).toHaveLength(4);
    // 24 posts × 4 followers, all in the one insert.
    const rows = await inboxPairs(manyMessages.map(eventIdOf));
    expect(rows).toHaveLength(24 * 4);
  });

  it('leaves a large audience to the chunk stream and tells the others of the same read', async () => {
    const [popular, small] = (await newAuthors(2)) as [SignedUpUser, SignedUpUser];
    // FANOUT_CHUNK_SIZE is 10 here: 12 followers make two chunks.
    await makeFollow(await makeUsers(12), popular.id);
    const [follower] = (await makeUsers(1)) as [string];
    await makeFollow([follower], small.id);
    const messages = await messagesOf([
      (await createPost(ctx, popular)).id,
      (await createPost(ctx, small)).id,
    ]);
    const [popularEvent, smallEvent] = messages.map(eventIdOf) as [string, string];
    const chunksOf = async (eventId: string) =>
      (await ctx.deps.redis.xrange(FANOUT_STREAM, '-', '+')).filter(([, f]) =>
        (f[1] ?? '').includes(eventId),
      ).length;

    const { deps } = await countingDeps();
    const results = await handleTogether(deps, messages);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await chunksOf(popularEvent)).toBe(2);
    expect(await chunksOf(smallEvent)).toBe(0);
    // The chunks' consumers write the popular post's rows; the small one is done.
    expect(await inboxPairs([popularEvent])).toEqual([]);
    expect(await inboxPairs([smallEvent])).toEqual([`${follower} ${smallEvent}`]);
  });

  it('fails every message of a batch whose statement fails, and each succeeds when retried', async () => {
    const [a, b, c] = (await newAuthors(3)) as [SignedUpUser, SignedUpUser, SignedUpUser];
    const followers = await makeUsers(2);
    for (const author of [a, b, c]) await makeFollow(followers, author.id);
    const posts = [await createPost(ctx, a), await createPost(ctx, b), await createPost(ctx, c)];
    const messages = await messagesOf(posts.map((p) => p.id));
    const eventIds = messages.map(eventIdOf);
    // The inbox refuses c's rows, as a broken table would: the batch's one insert fails.
    await ctx.deps.sql.unsafe(`
      create function refuse_actor() returns trigger language plpgsql as $$
      begin
        if new.actor_id = '${c.id}' then raise exception 'inbox refused this row'; end if;
        return new;
      end $$;
      create trigger refuse_actor before insert on notifications
        for each row execute function refuse_actor();`);
    try {
      const { deps } = await countingDeps();
      const results = await handleTogether(deps, messages);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const r of results) {
        expect(String((r as PromiseRejectedResult).reason)).toMatch(/inbox refused this row/);
      }
      // One statement: a's and b's rows were not written either.
      expect(await inboxPairs(eventIds)).toEqual([]);
    } finally {
      await ctx.deps.sql.unsafe(`
        drop trigger refuse_actor on notifications;
        drop function refuse_actor();`);
    }
    // The consumer retries each message: now they go through.
    const { deps } = await countingDeps();
    for (const m of messages) await postFanout.handle(m, deps);
    expect(await inboxPairs(eventIds)).toHaveLength(3 * 2);
  });

  it('fails every message of a batch when PostgreSQL is out of reach', async () => {
    const [a, b] = (await newAuthors(2)) as [SignedUpUser, SignedUpUser];
    const posts = [await createPost(ctx, a), await createPost(ctx, b)];
    const messages = await messagesOf(posts.map((p) => p.id));
    const closed = await countingDeps();
    await closed.sql.end();
    const results = await handleTogether(closed.deps, messages);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('leaves other events out of the batch: they are done at once, with no statement', async () => {
    const [a] = (await newAuthors(1)) as [SignedUpUser];
    const post = await createPost(ctx, a);
    await ctx.request('DELETE', `/api/v1/posts/${post.id}`, { token: a.accessToken });
    const other = (await streamMessages()).find(
      (m) => eventOf(m).type === 'post.deleted' && eventOf(m).postId === post.id,
    );
    expect(other).toBeDefined();
    const { deps, statements } = await countingDeps();
    await postFanout.handle(other!, deps);
    expect(statements).toEqual([]);
  });
});
