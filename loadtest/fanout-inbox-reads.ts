// bench:fanout's read side of broadcast authors: what a follower's inbox costs to read when
// its items are merged in from broadcast authors' rows at read time, against the same
// number of written rows. Seeded in SQL straight into the tables the inbox reads
// (sql/0012_broadcast_inbox.sql, domain/notifications/inbox.ts), read over HTTP.
import type { Sql } from '../core/db.ts';
import { type BenchRun, log, ms, quantile, sorted } from './harness.ts';

export interface InboxReaders {
  /** Follows `authors` broadcast authors, each with `postsEach` posts since the follow. */
  broadcast: string;
  /** No broadcast author followed; the same posts' notifications as written rows. */
  written: string;
  /** Items in each reader's inbox. */
  items: number;
}

/**
 * The broadcast authors and their history, the reader following them all (the follow goes
 * through the trigger on follows, so its periods start before every post), and the baseline
 * reader whose inbox holds the same notifications as written rows, in the same order.
 */
export async function seedInboxReaders(
  sql: Sql,
  shape: { authors: number; postsEach: number },
): Promise<InboxReaders> {
  const { authors, postsEach } = shape;
  const authorIds = (
    await sql<{ id: string }[]>`
      insert into users (email, handle, display_name, password_hash, post_count)
      select 'bcast' || a || '@bench.test', 'bcast_' || a, 'Broadcaster ' || a, 'scrypt$x',
        ${postsEach}
      from generate_series(1, ${authors}) as a returning id`
  ).map((r) => r.id);
  const [broadcast, written] = await sql<{ id: string }[]>`
    insert into users (email, handle, display_name, password_hash, following_count)
    values ('reader.broadcast@bench.test', 'reader_broadcast', 'Broadcast reader', 'scrypt$x',
        ${authors}),
      ('reader.written@bench.test', 'reader_written', 'Written reader', 'scrypt$x', 0)
    returning id`;
  await sql`
    insert into follows (follower_id, followee_id)
    select ${broadcast!.id}, unnest(${authorIds}::uuid[])`;
  await sql`update users set follower_count = 1 where id = any(${authorIds}::uuid[])`;
  await sql`insert into broadcast_authors (author_id) select unnest(${authorIds}::uuid[])`;
  // One post an hour, the authors' posts interleaved: every page mixes authors, as a busy
  // inbox does.
  await sql`
    insert into posts (author_id, kind, body, observed_at, created_at)
    select (${authorIds}::uuid[])[a], 'wild', 'history ' || i, t.at, t.at
    from generate_series(1, ${postsEach}) as i, generate_series(1, ${authors}) as a,
      lateral (select now() - make_interval(hours => ${postsEach} - i, secs => ${authors} - a)) t(at)
    order by i, a`;
  // The same notifications twice, oldest first, so both inboxes' seq follow the posts.
  await sql`
    insert into broadcast_notifications (id, author_id, post_id, created_at)
    select gen_uuid_v7(), author_id, id, created_at from posts
    where author_id = any(${authorIds}::uuid[]) order by created_at`;
  await sql`
    insert into notifications (user_id, id, type, actor_id, post_id, created_at)
    select ${written!.id}, gen_uuid_v7(), 'post', author_id, id, created_at from posts
    where author_id = any(${authorIds}::uuid[]) order by created_at`;
  return { broadcast: broadcast!.id, written: written!.id, items: authors * postsEach };
}

interface Figures {
  client: number[];
  server: number[];
}

const serverTiming = (res: Response) =>
  Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1] ?? Number.NaN);

/**
 * `reads` rounds (after 50 warm-up) of the first page and the unread count, for each
 * reader, interleaved; checks every answer against the seeded inbox.
 */
async function readRounds(
  serverUrl: string,
  tokens: { broadcast: string; written: string },
  reads: number,
  expect: { count: number; pageSize: number },
) {
  const kinds = ['broadcast', 'written'] as const;
  const paths = { page: '/api/v1/notifications', count: '/api/v1/notifications/unread-count' };
  const figures = Object.fromEntries(
    kinds.flatMap((k) =>
      Object.keys(paths).map((p) => [`${k} ${p}`, { client: [], server: [] } as Figures]),
    ),
  );
  for (let i = 0; i < reads + 50; i++) {
    for (const kind of kinds) {
      for (const [name, path] of Object.entries(paths)) {
        const started = performance.now();
        const res = await fetch(`${serverUrl}${path}`, {
          headers: { authorization: `Bearer ${tokens[kind]}` },
        });
        const body = (await res.json()) as { count?: number; items?: unknown[] };
        const took = performance.now() - started;
        if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
        if (name === 'count' && body.count !== expect.count) {
          throw new Error(`${kind} reader's unread count ${body.count}, not ${expect.count}`);
        }
        if (name === 'page' && body.items?.length !== expect.pageSize) {
          throw new Error(`${kind} reader's first page has ${body.items?.length} items`);
        }
        if (i >= 50) {
          figures[`${kind} ${name}`]!.client.push(took);
          figures[`${kind} ${name}`]!.server.push(serverTiming(res));
        }
      }
    }
  }
  return figures;
}

export interface InboxReadFigures {
  /** p99 over HTTP, by "<reader> <page|count>", while unread and after all was read. */
  p99: Record<string, number>;
}

/** Reads both inboxes unread, then marks everything read and reads them again. */
export async function measureInboxReads(
  run: BenchRun,
  serverUrl: string,
  readers: InboxReaders,
  reads: number,
): Promise<InboxReadFigures> {
  const [broadcast, written] = await run.tokensFor([readers.broadcast, readers.written]);
  const tokens = { broadcast: broadcast!, written: written! };
  const pageSize = 20;
  const p99: Record<string, number> = {};
  const report = (state: string, figures: Record<string, Figures>) => {
    for (const [name, f] of Object.entries(figures)) {
      const client = sorted(f.client);
      const server = sorted(f.server);
      p99[`${name} ${state}`] = quantile(client, 0.99);
      log(
        `| ${name.replace('page', 'first page').replace('count', 'unread count')}, ${state} | ` +
          `${ms(quantile(client, 0.5))} | ${ms(quantile(client, 0.99))} | ${ms(client.at(-1)!)} | ` +
          `${ms(quantile(server, 0.5))} / ${ms(quantile(server, 0.99))} |`,
      );
    }
  };
  log(
    `\n## Inbox reads: ${readers.items.toLocaleString('en')} items, merged from broadcast authors or written (${reads} reads each, interleaved, after 50 warm-up; no worker running)`,
  );
  log('| reader, read | p50 | p99 | max | in the server p50 / p99 |');
  log('|---|---:|---:|---:|---:|');
  report('unread', await readRounds(serverUrl, tokens, reads, { count: readers.items, pageSize }));

  // Everything read: the written rows get read_at, the broadcast items a read row each.
  for (const token of Object.values(tokens)) {
    const newest = (await (
      await fetch(`${serverUrl}/api/v1/notifications?limit=1`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { items: Array<{ id: string }> };
    const res = await fetch(`${serverUrl}/api/v1/notifications/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ upTo: newest.items[0]!.id }),
    });
    if (res.status !== 204) throw new Error(`POST /notifications/read answered ${res.status}`);
  }
  // As autovacuum soon would: statistics that still call broadcast_reads empty let the
  // planner probe it by a sequential scan per item, seconds per count, until it runs.
  await run.sql`analyze broadcast_reads, notifications`;
  report('all read', await readRounds(serverUrl, tokens, reads, { count: 0, pageSize }));
  return { p99 };
}
