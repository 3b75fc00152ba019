import type postgres from 'postgres';
import type { DomainEvent } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { recordEventIf } from '../events/outbox.ts';
import type { Bbox } from '../map/geo.ts';
import { lngCondition } from '../map/queries.ts';
import { deletePostPhotos } from '../photos/queries.ts';
import { toPhoto } from '../photos/schema.ts';
import { type AuthorColumns, authorOf, embeddedUserColumns } from '../users/queries.ts';

/** Author columns of alias `u` (a users row joined only while the account is active). */
const AUTHOR = embeddedUserColumns('u');

import type { StoredGeo } from './geoprivacy.ts';
import type { CreatePostInput, Post } from './schema.ts';

type Fragment = postgres.PendingQuery<postgres.Row[]>;

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
 */
function postColumns(sql: Sql | TxSql, viewerId: string): Fragment {
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
  viewerId: string,
): Promise<PostRow | undefined> {
  const [row] = await sql<PostRow[]>`
    select ${postColumns(sql, viewerId)}
    from posts p ${authorJoin(sql)}
    where p.id = ${id}`;
  return row;
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

/** Posts of the people the viewer follows, newest first; new posts never shift later pages. */
export async function listFeed(
  sql: Sql,
  viewerId: string,
  limit: number,
  before?: string,
): Promise<PostRow[]> {
  return sql<PostRow[]>`
    select ${postColumns(sql, viewerId)}
    from follows f
    join posts p on p.author_id = f.followee_id
    ${authorJoin(sql)}
    where f.follower_id = ${viewerId} ${olderThan(sql, before)}
    order by p.id desc limit ${limit + 1}`;
}

/**
 * Posts whose public point lies within the radius, nearest ring of cells first,
 * newest first within a ring. Only public cells and points are consulted.
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
  const column = sql.unsafe(`p.pub_r${input.resolution}`);
  const cells = input.rings.map((r) => r.cell);
  const rings = input.rings.map((r) => r.ring);
  const { lat, lng } = input;
  return sql<PostRow[]>`
    select ${postColumns(sql, input.viewerId)}, r.ring
    from unnest(${cells}::text[], ${rings}::int[]) as r (cell, ring)
    join posts p on ${column} = r.cell
    ${authorJoin(sql)}
    where 6371 * 2 * asin(sqrt(
        power(sin(radians(p.pub_lat - ${lat}) / 2), 2) +
        cos(radians(${lat})) * cos(radians(p.pub_lat)) * power(sin(radians(p.pub_lng - ${lng}) / 2), 2)
      )) <= ${input.radiusKm}
      ${input.kind ? sql`and p.kind = ${input.kind}` : sql``}
      ${input.after ? sql`and (r.ring > ${input.after.ring} or (r.ring = ${input.after.ring} and p.id < ${input.after.id}))` : sql``}
    order by r.ring asc, p.id desc
    limit ${input.limit + 1}`;
}

type NewPost = {
  id: string;
  createdAt: Date;
  authorId: string;
  input: CreatePostInput;
  geo: StoredGeo;
};

/**
 * The post's insert, doing nothing when the author already has a post with this
 * clientId: two concurrent requests with one clientId meet at the unique index,
 * and the second waits for the first to commit.
 */
function insertPostRow(sql: Sql | TxSql, post: NewPost): Fragment {
  const { id, createdAt, authorId, input, geo } = post;
  const observedAt = input.observedAt ? new Date(input.observedAt) : createdAt;
  return sql`
    insert into posts (
      id, author_id, kind, species, body, geoprivacy, lat, lng, accuracy_m, cell,
      pub_lat, pub_lng, pub_cell, pub_r6, pub_r7, pub_r9, observed_at, created_at, updated_at, client_id)
    values (
      ${id}, ${authorId}, ${input.kind}, ${input.species ?? null}, ${input.body}, ${input.geoprivacy},
      ${geo.lat}, ${geo.lng}, ${geo.accuracyM}, ${geo.cell},
      ${geo.pubLat}, ${geo.pubLng}, ${geo.pubCell}, ${geo.pubR6}, ${geo.pubR7}, ${geo.pubR9},
      ${observedAt}, ${createdAt}, ${createdAt}, ${input.clientId ?? null})
    on conflict (author_id, client_id) where client_id is not null do nothing`;
}

/**
 * Inserts a post with the id and time chosen by the caller, so the statements
 * that depend on it (the author's count, the event, the photos, the read-back)
 * need not wait for its answer: they are pipelined behind it in one round trip,
 * each guarded on the row really being there. Resolves false when the author
 * already has a post with this clientId (a retry): then nothing else happened.
 * Two concurrent requests with one clientId meet at the unique index: the
 * second waits for the first to commit, then finds its post.
 */
export async function insertPost(tx: TxSql, post: NewPost, event: DomainEvent): Promise<boolean> {
  const { id, authorId } = post;
  const [inserted] = await Promise.all([
    tx<{ id: string }[]>`${insertPostRow(tx, post)} returning id`,
    tx`update users set post_count = post_count + 1
       where id = ${authorId} and exists (select 1 from posts where id = ${id})`,
    recordEventIf(tx, event, tx`exists (select 1 from posts where id = ${id})`),
  ]);
  return inserted.length > 0;
}

/**
 * Creates a post without photos in one statement (so in one round trip, atomic
 * without a transaction block): the insert, the author's count, the event, and
 * the post read back as its author sees it, the author's counts included.
 * Resolves undefined when the author already has a post with this clientId (a
 * retry): then nothing else happened. Two concurrent requests with one clientId
 * meet at the unique index: the second waits for the first to commit.
 */
export async function createPostAtOnce(
  sql: Sql,
  post: NewPost,
  event: DomainEvent,
): Promise<PostRow | undefined> {
  const [row] = await sql<PostRow[]>`
    with p as (
      ${insertPostRow(sql, post)} returning *
    ), u as (
      update users set post_count = post_count + 1 from p where users.id = p.author_id
      returning users.*
    ), e as (
      ${recordEventIf(sql, event, sql`exists (select 1 from p)`)}
    )
    select ${postColumns(sql, post.authorId)}
    from p left join u on u.id = p.author_id and u.deleted_at is null`;
  return row;
}

/** The post this author made with this clientId. */
export async function findByClientId(
  tx: TxSql | Sql,
  authorId: string,
  clientId: string,
): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    select id from posts where author_id = ${authorId} and client_id = ${clientId}`;
  return row!.id;
}

export async function postOwner(
  sql: Sql | TxSql,
  id: string,
  lock = false,
): Promise<
  { authorId: string | null; pubCell: string | null; geoprivacy: Post['geoprivacy'] } | undefined
> {
  const [row] = await sql<
    { authorId: string | null; pubCell: string | null; geoprivacy: Post['geoprivacy'] }[]
  >`
    select author_id as "authorId", pub_cell as "pubCell", geoprivacy from posts where id = ${id}
    ${lock ? sql`for update` : sql``}`;
  return row;
}

export async function updatePost(
  tx: TxSql,
  id: string,
  changes: {
    kind?: string | undefined;
    body?: string | undefined;
    species?: string | null | undefined;
    geoprivacy?: string | undefined;
    observedAt?: string | undefined;
  },
  geo: StoredGeo | undefined,
): Promise<{
  createdAt: Date;
  kind: Post['kind'];
  geoprivacy: Post['geoprivacy'];
  pubCell: string | null;
}> {
  const [row] = await tx<
    {
      createdAt: Date;
      kind: Post['kind'];
      geoprivacy: Post['geoprivacy'];
      pubCell: string | null;
    }[]
  >`
    update posts set
      kind = coalesce(${changes.kind ?? null}, kind),
      body = coalesce(${changes.body ?? null}, body),
      species = ${changes.species === undefined ? tx`species` : changes.species},
      geoprivacy = coalesce(${changes.geoprivacy ?? null}, geoprivacy),
      observed_at = coalesce(${changes.observedAt ? new Date(changes.observedAt) : null}, observed_at),
      ${
        geo
          ? tx`lat = ${geo.lat}, lng = ${geo.lng}, accuracy_m = ${geo.accuracyM}, cell = ${geo.cell},
          pub_lat = ${geo.pubLat}, pub_lng = ${geo.pubLng}, pub_cell = ${geo.pubCell},
          pub_r6 = ${geo.pubR6}, pub_r7 = ${geo.pubR7}, pub_r9 = ${geo.pubR9},`
          : tx``
      }
      updated_at = now()
    where id = ${id}
    returning created_at as "createdAt", kind, geoprivacy, pub_cell as "pubCell"`;
  return row!;
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
 * Deletes a post (comments and likes go with it by cascade, photos with their
 * objects through the storage deletion queue) and corrects its author's count.
 */
export async function deletePost(tx: TxSql, id: string, authorId: string): Promise<void> {
  await deletePostPhotos(tx, id);
  await tx`delete from posts where id = ${id}`;
  await tx`update users set post_count = greatest(post_count - 1, 0) where id = ${authorId}`;
}

/** Posts whose public point lies in the box, newest first (the map's close zooms). */
export async function listInBox(
  sql: Sql,
  input: {
    viewerId: string;
    bbox: Bbox;
    kind?: string | undefined;
    limit: number;
    before?: string | undefined;
  },
): Promise<PostRow[]> {
  return sql<PostRow[]>`
    select ${postColumns(sql, input.viewerId)}
    from posts p ${authorJoin(sql)}
    where p.pub_lat between ${input.bbox.minLat} and ${input.bbox.maxLat}
      and ${lngCondition(sql, 'p.pub_lng', input.bbox)}
      ${input.kind ? sql`and p.kind = ${input.kind}` : sql``}
      ${olderThan(sql, input.before)}
    order by p.id desc limit ${input.limit + 1}`;
}
