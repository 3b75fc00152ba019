import type postgres from 'postgres';
import type { Bbox } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { lngCondition } from '../map/index.ts';
import { toPhoto } from '../photos/index.ts';
import { type AuthorColumns, authorOf, embeddedUserColumns } from '../users/index.ts';
import type { Post } from './schema.ts';

/** Reading posts: every read as one viewer sees it. */

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** Author columns of alias `u` (a users row joined only while the account is active). */
const AUTHOR = embeddedUserColumns('u');

export interface PostRow extends AuthorColumns {
  id: string;
  authorId: string | null;
  kind: Post['kind'];
  species: string | null;
  body: string;
  geoprivacy: Post['geoprivacy'];
  lat: number | null;
  lng: number | null;
  accuracyM: number | null;
  cell: string | null;
  observedAt: Date;
  createdAt: Date;
  updatedAt: Date;
  commentCount: number;
  likeCount: number;
  likedByMe: boolean;
  photos: Array<{ id: string; width: number; height: number }>;
  ring?: number;
}

/**
 * The one place that decides which location columns a reader gets: the exact
 * ones for the post's author, the public ones for everyone else. Every post
 * read goes through here, so a list cannot leak what a single read would not.
 * A null viewer is nobody in particular (the live map's pushes): public columns,
 * nothing liked.
 */
export function postColumns(sql: Sql | TxSql, viewerId: string | null): Fragment {
  return sql`
    p.id, p.author_id as "authorId", p.kind, p.species, p.body, p.geoprivacy,
    case when p.author_id = ${viewerId} then p.lat else p.pub_lat end as lat,
    case when p.author_id = ${viewerId} then p.lng else p.pub_lng end as lng,
    case when p.author_id = ${viewerId} or p.geoprivacy = 'open' then p.accuracy_m end as "accuracyM",
    case when p.author_id = ${viewerId} then p.cell else p.pub_cell end as cell,
    p.observed_at as "observedAt", p.created_at as "createdAt", p.updated_at as "updatedAt",
    p.comment_count as "commentCount", p.like_count as "likeCount",
    exists (select 1 from likes l where l.post_id = p.id and l.user_id = ${viewerId}) as "likedByMe",
    coalesce((
      select json_agg(json_build_object('id', ph.id, 'width', ph.width, 'height', ph.height) order by ph.position)
      from photos ph where ph.post_id = p.id
    ), '[]'::json) as photos,
    ${sql.unsafe(AUTHOR)}`;
}

/** The author, joined only while the account is active (else `author: null`). */
const authorJoin = (sql: Sql | TxSql) =>
  sql`left join users u on u.id = p.author_id and u.deleted_at is null`;

/** The keyset condition of newest-first lists: posts older than the cursor's id. */
const olderThan = (sql: Sql | TxSql, before: string | undefined) =>
  before ? sql`and p.id < ${before}` : sql``;

export function toPost(row: PostRow, mediaBase: string): Post {
  return {
    id: row.id,
    author: authorOf(row),
    kind: row.kind,
    species: row.species,
    body: row.body,
    location:
      row.lat === null || row.lng === null
        ? null
        : {
            lat: row.lat,
            lng: row.lng,
            ...(row.accuracyM === null ? {} : { accuracyM: row.accuracyM }),
          },
    geoprivacy: row.geoprivacy,
    cell: row.cell,
    photos: row.photos.map((photo) => toPhoto(photo, mediaBase)),
    observedAt: row.observedAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    commentCount: row.commentCount,
    likeCount: row.likeCount,
    likedByMe: row.likedByMe,
  };
}

export async function findPost(
  sql: Sql | TxSql,
  id: string,
  viewerId: string | null,
): Promise<PostRow | undefined> {
  const [row] = await sql<PostRow[]>`
    select ${postColumns(sql, viewerId)}
    from posts p ${authorJoin(sql)}
    where p.id = ${id}`;
  return row;
}

/** Several posts by id, as one viewer sees them (in no particular order; missing ids left out). */
export async function findPosts(
  sql: Sql,
  ids: readonly string[],
  viewerId: string | null,
): Promise<PostRow[]> {
  return sql<PostRow[]>`
    select ${postColumns(sql, viewerId)}
    from posts p ${authorJoin(sql)}
    where p.id = any(${ids as string[]}::uuid[])`;
}

/** The ids of an author's newest `limit` posts, newest first (the first page of their list). */
export async function newestPostIds(sql: Sql, authorId: string, limit: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select id from posts where author_id = ${authorId} order by id desc limit ${limit}`;
  return rows.map((r) => r.id);
}

/** Newest first, keyset on the time-ordered id. */
export async function listPostsByAuthor(
  sql: Sql,
  authorId: string,
  viewerId: string,
  limit: number,
  before?: string,
): Promise<PostRow[]> {
  return sql<PostRow[]>`
    select ${postColumns(sql, viewerId)}
    from posts p ${authorJoin(sql)}
    where p.author_id = ${authorId} ${olderThan(sql, before)}
    order by p.id desc limit ${limit + 1}`;
}

/**
 * How many of the newest posts a feed or map page looks through first, before the way
 * that suits a narrower selection (each followee's posts, the box's index).
 */
const RECENT_WINDOW = 1_000;

/**
 * The window's size written into the statement, not sent as a parameter: a generic plan
 * guesses an unknown LIMIT at a tenth of the table, which priced the feed past
 * jit_above_cost and compiled it on every execution (40 to 130 ms).
 */
const windowLimit = (sql: Sql, rows: number) => sql.unsafe(String(Math.trunc(rows)));

/**
 * Posts of the people the viewer follows, newest first; new posts never shift later pages.
 *
 * One statement, two ways, both bounded whoever the viewer is, so the plan does not
 * depend on the values (postgres.js prepares statements, and PostgreSQL's generic plan
 * for "my followees' posts, newest first" read all 141,000 posts of the 2,000 accounts a
 * heavy follower follows; npm run check:plans):
 * - the newest RECENT_WINDOW posts (before the cursor), kept when their author is followed:
 *   a full page there is the page, since any newer followee post would be in the window;
 * - otherwise (few followee posts lately) each followee's newest page, merged: as many
 *   index entries as followees times a page, at most.
 */
export async function listFeed(
  sql: Sql,
  viewerId: string,
  limit: number,
  before?: string,
): Promise<PostRow[]> {
  const olderId = (column: string) => (before ? sql`and ${sql.unsafe(column)} < ${before}` : sql``);
  return sql<PostRow[]>`
    with recent as materialized (
      select w.id from (
        select n.id, n.author_id from posts n
        where true ${olderId('n.id')}
        order by n.id desc limit ${windowLimit(sql, RECENT_WINDOW)}
      ) w
      -- a probe of the edge per post (offset 0 keeps it one): as a join, the generic plan
      -- compared each post with every followee, 400,000 comparisons for 2,000 of them
      where exists (
        select 1 from follows f
        where f.follower_id = ${viewerId} and f.followee_id = w.author_id offset 0
      )
      order by w.id desc limit ${limit + 1}
    ),
    page as (
      select id from recent where (select count(*) from recent) > ${limit}
      union all
      select merged.id from (
        select newest.id from follows f
        cross join lateral (
          select n.id from posts n
          where n.author_id = f.followee_id ${olderId('n.id')}
          order by n.id desc limit ${limit + 1}
        ) newest
        where f.follower_id = ${viewerId}
        order by newest.id desc limit ${limit + 1}
      ) merged
      where (select count(*) from recent) <= ${limit}
    )
    select ${postColumns(sql, viewerId)}
    from page join posts p on p.id = page.id
    ${authorJoin(sql)}
    order by p.id desc`;
}

/** Above every UUID: the keyset bound of a ring the cursor is not in (every post is below it). */
const ABOVE_ALL_IDS = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/**
 * Posts whose public point lies within the radius, nearest ring of cells first,
 * newest first within a ring. Only public cells and points are consulted.
 *
 * Each cell gives at most a page of its newest posts within the radius (its part of the
 * (pub_rN, id) index, walked newest first), and the page is taken from those: a page
 * reads about a page per cell, not every post of every cell in the disk, which in a
 * dense city at r6 and r7 is a good part of the table (npm run check:plans). The cursor's
 * ring bounds ids by the cursor's id, later rings by nothing, earlier rings are skipped.
 * Only the page's posts are then read whole, with their authors.
 */
export async function listNearby(
  sql: Sql,
  input: {
    viewerId: string;
    lat: number;
    lng: number;
    radiusKm: number;
    resolution: 6 | 7 | 9;
    rings: Array<{ cell: string; ring: number }>;
    kind?: Post['kind'] | undefined;
    limit: number;
    after?: { ring: number; id: string } | undefined;
  },
): Promise<PostRow[]> {
  const column = sql.unsafe(`n.pub_r${input.resolution}`);
  const cells = input.rings.map((r) => r.cell);
  const rings = input.rings.map((r) => r.ring);
  const { lat, lng, after } = input;
  return sql<PostRow[]>`
    select ${postColumns(sql, input.viewerId)}, page.ring
    from (
      select r.ring, newest.id
      from unnest(${cells}::text[], ${rings}::int[]) as r (cell, ring)
      cross join lateral (
        select n.id from posts n
        where ${column} = r.cell
          ${after ? sql`and n.id < case when r.ring = ${after.ring} then ${after.id}::uuid else ${ABOVE_ALL_IDS}::uuid end` : sql``}
          and 6371 * 2 * asin(sqrt(
            power(sin(radians(n.pub_lat - ${lat}) / 2), 2) +
            cos(radians(${lat})) * cos(radians(n.pub_lat)) * power(sin(radians(n.pub_lng - ${lng}) / 2), 2)
          )) <= ${input.radiusKm}
          ${input.kind ? sql`and n.kind = ${input.kind}` : sql``}
        order by n.id desc
        limit ${input.limit + 1}
      ) newest
      ${after ? sql`where r.ring >= ${after.ring}` : sql``}
      order by r.ring asc, newest.id desc
      limit ${input.limit + 1}
    ) page
    join posts p on p.id = page.id
    ${authorJoin(sql)}
    order by page.ring asc, p.id desc`;
}

/** Whether the post is still there (a fan-out may reach it after its deletion). */
export async function postExists(sql: Sql | TxSql, id: string): Promise<boolean> {
  const [row] = await sql`select 1 from posts where id = ${id}`;
  return row !== undefined;
}

/**
 * True when the post has neither a body nor a photo (which no post may be),
 * or would have, once `without` (a photo of it) is gone.
 */
export async function isEmptyPost(
  tx: TxSql,
  id: string,
  options: { without?: string } = {},
): Promise<boolean> {
  const [row] = await tx<{ empty: boolean }[]>`
    select p.body = '' and not exists (
      select 1 from photos ph where ph.post_id = p.id
        ${options.without ? tx`and ph.id <> ${options.without}` : tx``}
    ) as empty
    from posts p where p.id = ${id}`;
  return row?.empty ?? false;
}

export async function exactLocation(
  tx: TxSql,
  id: string,
): Promise<{ lat: number; lng: number; accuracyM: number | null } | null> {
  const [row] = await tx<{ lat: number | null; lng: number | null; accuracyM: number | null }[]>`
    select lat, lng, accuracy_m as "accuracyM" from posts where id = ${id}`;
  return row && row.lat !== null && row.lng !== null
    ? { lat: row.lat, lng: row.lng, accuracyM: row.accuracyM }
    : null;
}

/**
 * Posts whose public point lies in the box, newest first (the map's close zooms).
 *
 * As listFeed, one statement, two ways, so that the plan does not depend on the box (the
 * generic plan walked the (pub_lat, pub_lng) index and sorted: 160,000 rows for a city's
 * first page; npm run check:plans): the newest RECENT_WINDOW posts kept when in the box,
 * which is the page when it fills one; otherwise (a box with few posts lately) the box's
 * posts from the (pub_lat, pub_lng) index, newest first.
 *
 * `since` keeps the posts posted at or after it (the map's time window); both ways filter
 * alike, so the window's page is still the page when it fills one.
 */
export async function listPostsInBox(
  sql: Sql,
  input: {
    viewerId: string;
    bbox: Bbox;
    kind?: string | undefined;
    since?: Date | undefined;
    limit: number;
    before?: string | undefined;
  },
): Promise<PostRow[]> {
  const inBox = (alias: string) => sql`
    ${sql.unsafe(alias)}.pub_lat between ${input.bbox.minLat} and ${input.bbox.maxLat}
    and ${lngCondition(sql, `${alias}.pub_lng`, input.bbox)}
    ${input.kind ? sql`and ${sql.unsafe(alias)}.kind = ${input.kind}` : sql``}
    ${input.since ? sql`and ${sql.unsafe(alias)}.created_at >= ${input.since}` : sql``}`;
  const olderId = input.before ? sql`and n.id < ${input.before}` : sql``;
  // One kind of three keeps a third of the posts: a window three times as long finds a
  // page as often.
  const window = input.kind ? 3 * RECENT_WINDOW : RECENT_WINDOW;
  return sql<PostRow[]>`
    with recent as materialized (
      select w.id from (
        select n.id, n.pub_lat, n.pub_lng, n.kind, n.created_at from posts n
        where true ${olderId}
        order by n.id desc limit ${windowLimit(sql, window)}
      ) w
      where ${inBox('w')}
      order by w.id desc limit ${input.limit + 1}
    ),
    page as (
      select id from recent where (select count(*) from recent) > ${input.limit}
      union all
      select boxed.id from (
        select n.id from posts n
        where ${inBox('n')} ${olderId}
        order by n.id desc limit ${input.limit + 1}
      ) boxed
      where (select count(*) from recent) <= ${input.limit}
    )
    select ${postColumns(sql, input.viewerId)}
    from page join posts p on p.id = page.id
    ${authorJoin(sql)}
    order by p.id desc`;
}
