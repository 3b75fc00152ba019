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

/** Comments and likes drawn for the sightings, as one array per column. */
export interface Activity {
  comments: { post: string[]; author: string[]; body: string[] };
  likes: { post: string[]; user: string[] };
}

/**
 * Comments, a fifth as many as there are posts, and as many likes as posts (a pair drawn
 * twice counts once), by users and on posts drawn with a bias to the first of each (in
 * the order generated). Drawn before the posts are written, so that their counts go in
 * with them rather than as an update of most of the table afterwards.
 */
export function drawActivity(rand: () => number, userIds: string[], postIds: string[]): Activity {
  const draw = (ids: string[]) => ids[Math.floor(ids.length * rand() ** 2)]!;
  const comments: Activity['comments'] = { post: [], author: [], body: [] };
  for (let i = 0; i < Math.floor(postIds.length / 5); i++) {
    comments.post.push(draw(postIds));
    comments.author.push(draw(userIds));
    comments.body.push(COMMENTS[Math.floor(rand() * COMMENTS.length)]!);
  }
  const likes: Activity['likes'] = { post: [], user: [] };
  const seen = new Set<string>();
  for (let i = 0; i < postIds.length; i++) {
    const post = draw(postIds);
    const user = draw(userIds);
    if (seen.has(post + user)) continue;
    seen.add(post + user);
    likes.post.push(post);
    likes.user.push(user);
  }
  return { comments, likes };
}

/** Each post's comment and like counts in an activity. */
export function activityCounts(activity: Activity) {
  const counts = new Map<string, { comments: number; likes: number }>();
  const of = (post: string) => {
    const c = counts.get(post) ?? { comments: 0, likes: 0 };
    counts.set(post, c);
    return c;
  };
  for (const post of activity.comments.post) of(post).comments++;
  for (const post of activity.likes.post) of(post).likes++;
  return counts;
}

/** Writes the activity (its posts written already), and a `follow` notification for every follow edge, a quarter of them unread. */
export async function insertActivity(sql: Sql, activity: Activity, log: (l: string) => void) {
  const { comments, likes } = activity;
  for (let i = 0; i < comments.post.length; i += 20_000) {
    const slice = (xs: string[]) => xs.slice(i, i + 20_000);
    await sql`
      insert into comments (post_id, author_id, body)
      select * from unnest(${slice(comments.post)}::uuid[], ${slice(comments.author)}::uuid[],
        ${slice(comments.body)}::text[])`;
  }
  log(`${comments.post.length} comments`);
  for (let i = 0; i < likes.post.length; i += 20_000) {
    await sql`
      insert into likes (post_id, user_id)
      select * from unnest(${likes.post.slice(i, i + 20_000)}::uuid[],
        ${likes.user.slice(i, i + 20_000)}::uuid[])`;
  }
  log(`${likes.post.length} likes`);
  const res = await sql`
    insert into notifications (user_id, id, type, actor_id, created_at, read_at)
    select f.followee_id, gen_uuid_v7(), 'follow', f.follower_id, f.created_at,
      case when hashtext(f.follower_id::text || f.followee_id::text) % 4 <> 0 then f.created_at end
    from follows f
    order by f.created_at, f.follower_id, f.followee_id`;
  log(`${res.count} follow notifications`);
}

/** The named fixtures (sizes: FULL_FIXTURES unless given). */
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
  await sql`update posts set comment_count = ${sizes.comments} where id = ${busy!.id}`;

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
