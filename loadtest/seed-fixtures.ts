// What `npm run seed` adds around the sightings: comments and notifications in proportion
// to them, and named fixtures with the shapes that are hard for list queries, found by
// handle (fixtureHandles) or, for the busy post, by its author and client id.
import type { Sql } from '../core/db.ts';

export interface FixtureSizes {
  /** Accounts followed by `following`: the most active authors. */
  following: number;
  /** Quiet accounts (two old posts each) followed by `quietFeed`, and nobody else. */
  quietAccounts: number;
  /** Notifications in the inbox of `inbox`. */
  inbox: number;
  /** Comments on the busy post. */
  comments: number;
}

export const FULL_FIXTURES: FixtureSizes = {
  following: 2_000,
  quietAccounts: 20,
  inbox: 100_000,
  comments: 50_000,
};

/** The busy post's client id (unique per author). */
export const BUSY_POST_CLIENT_ID = 'fixture:busy-post';

/** Handles of the fixture accounts under a seed's prefix. */
export function fixtureHandles(prefix: string) {
  return {
    /** follows FULL_FIXTURES.following of the most active authors */
    following: `${prefix}fx_following`,
    /** follows only quiet accounts, in a posts table full of active ones */
    quietFeed: `${prefix}fx_quiet_feed`,
    quiet: (i: number) => `${prefix}fx_quiet_${i}`,
    /** a long inbox: most read, the newest and every hundredth older one unread */
    inbox: `${prefix}fx_inbox`,
    /** author of the post with FULL_FIXTURES.comments comments */
    busyAuthor: `${prefix}fx_busy_author`,
  };
}

/** Every hundredth older notification of the fixture inbox is unread, and the newest 5 %. */
const UNREAD_EVERY = 100;
const UNREAD_NEWEST = 0.05;

const COMMENTS = [
  'What a beauty!',
  'I saw this one too, near the river.',
  'Is it still there?',
  'Thanks for sharing.',
  'Looks healthy.',
];

/**
 * Comments, a fifth as many as there are posts (the earliest generated posts more often),
 * likes, and a `follow` notification for every follow edge, a quarter of them unread.
 */
export async function seedActivity(
  sql: Sql,
  input: { rand: () => number; userIds: string[]; postIds: string[]; log: (l: string) => void },
) {
  const { rand, userIds, postIds } = input;
  const total = Math.floor(postIds.length / 5);
  for (let i = 0; i < total; i += 20_000) {
    const n = Math.min(20_000, total - i);
    const posts: string[] = [];
    const authors: string[] = [];
    const bodies: string[] = [];
    for (let k = 0; k < n; k++) {
      posts.push(postIds[Math.floor(postIds.length * rand() ** 2)]!);
      authors.push(userIds[Math.floor(userIds.length * rand() ** 2)]!);
      bodies.push(COMMENTS[Math.floor(rand() * COMMENTS.length)]!);
    }
    await sql`
      insert into comments (post_id, author_id, body)
      select * from unnest(${posts}::uuid[], ${authors}::uuid[], ${bodies}::text[])`;
  }
  input.log(`${total} comments`);
  // As many likes as posts, by users and on posts drawn like the comments' (a pair drawn
  // twice counts once).
  for (let i = 0; i < postIds.length; i += 20_000) {
    const n = Math.min(20_000, postIds.length - i);
    const posts: string[] = [];
    const users: string[] = [];
    for (let k = 0; k < n; k++) {
      posts.push(postIds[Math.floor(postIds.length * rand() ** 2)]!);
      users.push(userIds[Math.floor(userIds.length * rand() ** 2)]!);
    }
    await sql`
      insert into likes (post_id, user_id)
      select * from unnest(${posts}::uuid[], ${users}::uuid[])
      on conflict do nothing`;
  }
  input.log('likes');
  const res = await sql`
    insert into notifications (user_id, id, type, actor_id, created_at, read_at)
    select f.followee_id, gen_uuid_v7(), 'follow', f.follower_id, f.created_at,
      case when hashtext(f.follower_id::text || f.followee_id::text) % 4 <> 0 then f.created_at end
    from follows f
    order by f.created_at, f.follower_id, f.followee_id`;
  input.log(`${res.count} follow notifications`);
}

/** The named fixtures (sizes: FULL_FIXTURES unless given). Run after seedActivity. */
export async function seedFixtures(
  sql: Sql,
  input: {
    prefix: string;
    userIds: string[];
    sizes?: FixtureSizes | undefined;
    passwordHash: string;
    log: (l: string) => void;
  },
) {
  const sizes = input.sizes ?? FULL_FIXTURES;
  const names = fixtureHandles(input.prefix);
  const quiet = Array.from({ length: sizes.quietAccounts }, (_, i) => names.quiet(i + 1));
  const handles = [names.following, names.quietFeed, names.inbox, names.busyAuthor, ...quiet];
  const rows = await sql<{ id: string; handle: string }[]>`
    insert into users (email, handle, display_name, password_hash)
    select h || '@seed.unimal.test', h, 'Fixture ' || h, ${input.passwordHash}
    from unnest(${handles}::text[]) as h
    returning id, handle`;
  const id = new Map(rows.map((r) => [r.handle, r.id]));
  const quietIds = quiet.map((h) => id.get(h)!);
  const actors = input.userIds.slice(0, 5_000);

  // The most active authors are the first users (authors are drawn with a bias to them).
  const followed = input.userIds.slice(0, sizes.following);
  await sql`
    insert into follows (follower_id, followee_id)
    select ${id.get(names.following)!}, unnest(${followed}::uuid[])`;
  await sql`
    insert into follows (follower_id, followee_id)
    select ${id.get(names.quietFeed)!}, unnest(${quietIds}::uuid[])`;

  // Two unlocated posts per quiet account, 45 to 60 days old: older than every sighting.
  const now = Date.now();
  const quietPosts = quietIds.flatMap((author, i) =>
    [0, 1].map((k) => {
      const at = new Date(now - (45 + ((i * 2 + k) % 15)) * 86_400_000 - i * 60_000);
      return { author_id: author, kind: 'pet', body: `Quiet post ${k + 1}`, at };
    }),
  );
  const busyAt = new Date(now - 20 * 86_400_000);
  await sql`
    insert into posts (author_id, kind, body, observed_at, created_at, updated_at, client_id)
    select a, k, b, t, t, t, c
    from unnest(
      ${[...quietPosts.map((p) => p.author_id), id.get(names.busyAuthor)!]}::uuid[],
      ${[...quietPosts.map((p) => p.kind), 'wild']}::text[],
      ${[...quietPosts.map((p) => p.body), 'A heron fishing in the canal, every morning.']}::text[],
      ${[...quietPosts.map((p) => p.at.toISOString()), busyAt.toISOString()]}::timestamptz[],
      ${[...quietPosts.map(() => null), BUSY_POST_CLIENT_ID]}::text[]
    ) as p(a, k, b, t, c)`;
  const [busy] = await sql<{ id: string }[]>`
    select id from posts where author_id = ${id.get(names.busyAuthor)!}
      and client_id = ${BUSY_POST_CLIENT_ID}`;

  await sql`
    insert into comments (post_id, author_id, body, created_at)
    select ${busy!.id}, (${actors}::uuid[])[1 + i % ${actors.length}],
      'Comment ' || i, ${busyAt} + i * interval '1 second'
    from generate_series(1, ${sizes.comments}) as i
    order by i`;

  // The inbox, oldest first (seq follows insertion): likes of the busy post and follows.
  const unreadFrom = Math.floor(sizes.inbox * (1 - UNREAD_NEWEST));
  await sql`
    insert into notifications (user_id, id, type, actor_id, post_id, created_at, read_at)
    select ${id.get(names.inbox)!}, gen_uuid_v7(),
      case when i % 3 = 0 then 'follow' else 'like' end,
      (${actors}::uuid[])[1 + i % ${actors.length}],
      case when i % 3 = 0 then null else ${busy!.id}::uuid end,
      now() - (${sizes.inbox} - i) * interval '1 minute',
      case when i > ${unreadFrom} or i % ${UNREAD_EVERY} = 0 then null else now() end
    from generate_series(1, ${sizes.inbox}) as i
    order by i`;
  input.log(
    `fixtures: ${sizes.following} follows, ${sizes.quietAccounts} quiet accounts, ` +
      `${sizes.inbox} notifications, ${sizes.comments} comments on one post`,
  );
}

/** Sets posts' comment and like counts from their rows (the seed inserts them directly). */
export async function countInteractions(sql: Sql) {
  await sql`
    update posts p set comment_count = coalesce(c.n, 0), like_count = coalesce(l.n, 0)
    from (select post_id from comments union select post_id from likes) touched
    left join (select post_id, count(*)::int as n from comments group by post_id) c
      on c.post_id = touched.post_id
    left join (select post_id, count(*)::int as n from likes group by post_id) l
      on l.post_id = touched.post_id
    where p.id = touched.post_id`;
}
