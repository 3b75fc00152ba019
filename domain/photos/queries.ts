import type { Sql, TxSql } from '../../core/db.ts';
import { allKeys } from './processing.ts';

export interface PhotoRow {
  id: string;
  ownerId: string;
  status: 'pending' | 'ready';
  declaredType: string | null;
  declaredSize: number | null;
  width: number | null;
  height: number | null;
  postId: string | null;
  createdAt: Date;
}

const COLUMNS = `id, owner_id as "ownerId", status, declared_type as "declaredType",
  declared_size as "declaredSize", width, height, post_id as "postId", created_at as "createdAt"`;

export async function insertPendingPhoto(
  sql: Sql | TxSql,
  ownerId: string,
  declared?: { type: string; size: number },
): Promise<PhotoRow> {
  const [row] = await sql<PhotoRow[]>`
    insert into photos (owner_id, status, declared_type, declared_size)
    values (${ownerId}, 'pending', ${declared?.type ?? null}, ${declared?.size ?? null})
    returning ${sql.unsafe(COLUMNS)}`;
  return row!;
}

export async function findPhoto(
  sql: Sql | TxSql,
  id: string,
  lock = false,
): Promise<PhotoRow | undefined> {
  const [row] = await sql<PhotoRow[]>`
    select ${sql.unsafe(COLUMNS)} from photos where id = ${id} ${lock ? sql`for update` : sql``}`;
  return row;
}

/**
 * Marks a photo ready with its size. With `ifPending`, only a photo still
 * pending (and still there): undefined otherwise.
 */
export async function markReady(
  sql: Sql | TxSql,
  id: string,
  width: number,
  height: number,
  options: { ifPending: true },
): Promise<PhotoRow | undefined>;
export async function markReady(
  sql: Sql | TxSql,
  id: string,
  width: number,
  height: number,
): Promise<PhotoRow>;
export async function markReady(
  sql: Sql | TxSql,
  id: string,
  width: number,
  height: number,
  options: { ifPending?: boolean } = {},
): Promise<PhotoRow | undefined> {
  const [row] = await sql<PhotoRow[]>`
    update photos set status = 'ready', width = ${width}, height = ${height}, ready_at = now()
    where id = ${id} ${options.ifPending ? sql`and status = 'pending'` : sql``}
    returning ${sql.unsafe(COLUMNS)}`;
  return row;
}

/** Queues every object of these photos for removal from storage (same transaction as the rows' removal). */
export async function enqueueObjectDeletion(sql: Sql | TxSql, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`
    insert into storage_deletions (key) select unnest(${keys}::text[])
    on conflict (key) do update set next_attempt_at = now()`;
}

/** Deletes photo rows and queues their objects; returns the ids that went. */
export async function deletePhotos(sql: Sql | TxSql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const gone = await sql<
    { id: string }[]
  >`delete from photos where id = any(${ids}::uuid[]) returning id`;
  await enqueueObjectDeletion(
    sql,
    gone.flatMap((g) => allKeys(g.id)),
  );
  return gone.map((g) => g.id);
}

/**
 * Attaches photos to a post, in the given order. Only the owner's own, ready,
 * unattached photos qualify; anything else is reported back by id and the
 * caller rolls the transaction back.
 */
export async function attachPhotos(
  tx: TxSql,
  postId: string,
  ownerId: string,
  photoIds: string[],
): Promise<{ rejected: string[] }> {
  if (photoIds.length === 0) return { rejected: [] };
  const attached = await tx<{ id: string }[]>`
    update photos set post_id = ${postId}, position = array_position(${photoIds}::uuid[], id)
    where id = any(${photoIds}::uuid[]) and owner_id = ${ownerId} and status = 'ready'
      and (post_id is null or post_id = ${postId})
      -- pipelined behind the post's insert, which may have found a clientId twin instead
      and exists (select 1 from posts where id = ${postId})
    returning id`;
  const ok = new Set(attached.map((a) => a.id));
  return { rejected: photoIds.filter((id) => !ok.has(id)) };
}

/** Detaches the post's photos that are not in `keep` and deletes them (they were the post's). */
export async function replacePostPhotos(tx: TxSql, postId: string, keep: string[]): Promise<void> {
  const dropped = await tx<{ id: string }[]>`
    select id from photos where post_id = ${postId} and not (id = any(${keep}::uuid[])) for update`;
  await deletePhotos(
    tx,
    dropped.map((d) => d.id),
  );
}

/** Photos of a post's deletion: rows go now, objects through the deletion queue. */
export async function deletePostPhotos(tx: TxSql, postId: string): Promise<void> {
  const rows = await tx<
    { id: string }[]
  >`select id from photos where post_id = ${postId} for update`;
  await deletePhotos(
    tx,
    rows.map((r) => r.id),
  );
}

/** Photos never attached within the TTL (uploads abandoned on the way to a post). */
export async function deleteOrphans(sql: Sql, olderThanMs: number, batch = 500): Promise<number> {
  return sql.begin(async (tx) => {
    const rows = await tx<{ id: string }[]>`
      select id from photos
      where post_id is null and created_at < ${new Date(Date.now() - olderThanMs)}
      order by created_at limit ${batch}
      for update skip locked`;
    return (
      await deletePhotos(
        tx,
        rows.map((r) => r.id),
      )
    ).length;
  });
}
