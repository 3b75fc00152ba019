import type postgres from 'postgres';
import type { DomainEvent } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import { recordEventIf } from '../events/index.ts';
import { deletePostPhotos } from '../photos/index.ts';
import type { StoredGeo } from './geoprivacy.ts';
import { type PostRow, postColumns } from './post-reads.ts';
import type { CreatePostInput, Post } from './schema.ts';

/** Writing posts: create, edit, delete; each records its event in the same transaction. */

type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** A post's location columns from its StoredGeo: the one list every write of them uses. */
export function geoColumns(geo: StoredGeo) {
  return {
    lat: geo.lat,
    lng: geo.lng,
    accuracy_m: geo.accuracyM,
    cell: geo.cell,
    pub_lat: geo.pubLat,
    pub_lng: geo.pubLng,
    pub_cell: geo.pubCell,
    pub_r6: geo.pubR6,
    pub_r7: geo.pubR7,
    pub_r9: geo.pubR9,
  };
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
  const row = {
    id,
    author_id: authorId,
    kind: input.kind,
    species: input.species ?? null,
    body: input.body,
    geoprivacy: input.geoprivacy,
    ...geoColumns(geo),
    observed_at: input.observedAt ? new Date(input.observedAt) : createdAt,
    created_at: createdAt,
    updated_at: createdAt,
    client_id: input.clientId ?? null,
  };
  return sql`
    insert into posts ${sql(row)}
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
  // The location, when it changes, is its own statement (postgres.js builds `col = value`
  // lists only right after `update … set`), pipelined ahead of the rest on the connection.
  const moved = geo ? tx`update posts set ${tx(geoColumns(geo))} where id = ${id}` : undefined;
  const [, [row]] = await Promise.all([
    moved,
    tx<
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
      updated_at = now()
    where id = ${id}
    returning created_at as "createdAt", kind, geoprivacy, pub_cell as "pubCell"`,
  ]);
  return row!;
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
