import type { Sql, TxSql } from '../../core/db.ts';

/**
 * The outbox's side of relaying events to the Redis stream (workers/relay.ts and
 * workers/streams.ts hold the stream's side). A published row keeps the id of
 * its stream entry and the epoch of the Redis data it went to, so it can be
 * published again if that data is lost, and purged once every consumer is done.
 */

export interface UnpublishedEvent {
  id: number;
  eventId: string;
  payload: unknown;
}

/** The oldest unpublished rows, locked for this relay; another relay skips them. */
export async function claimUnpublished(tx: TxSql, limit: number): Promise<UnpublishedEvent[]> {
  return tx<UnpublishedEvent[]>`
    select id, event_id as "eventId", payload from outbox
    where published_at is null order by id limit ${limit}
    for update skip locked`;
}

/** Marks claimed rows published, each with its stream entry id, in this epoch. */
export async function markPublished(
  tx: TxSql,
  published: { ids: number[]; streamIds: string[] },
  epoch: string,
): Promise<void> {
  await tx`
    update outbox set published_at = now(), stream_id = s.stream_id, stream_epoch = ${epoch}
    from unnest(${published.ids}::bigint[], ${published.streamIds}::text[]) as s (id, stream_id)
    where outbox.id = s.id`;
}

/** Marks unpublished again every row published in another epoch than this one. */
export async function unpublishOtherEpochs(sql: Sql, epoch: string): Promise<number> {
  // Two ranges rather than `<>`, so that the partial index on published rows serves it.
  const res = await sql`
    update outbox set published_at = null, stream_id = null, stream_epoch = null
    where published_at is not null and (stream_epoch < ${epoch} or stream_epoch > ${epoch})`;
  return res.count;
}

/** `stream_id` as the pair of numbers a stream entry id is (`ms-seq`), to compare in order. */
const streamIdPair = (sql: Sql) =>
  sql`(split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint)`;
const entryId = (sql: Sql, [ms, seq]: [bigint, bigint]) =>
  sql`(${String(ms)}::bigint, ${String(seq)}::bigint)`;

/**
 * Rows of this epoch published in the last hour at or past the horizon, at most
 * ten thousand: a Redis back from older data lost its last second or so of
 * writes, and a horizon held back (a message that keeps failing) must not make
 * this read grow without end.
 */
export async function recentlyPublished(
  sql: Sql,
  epoch: string,
  horizon: [bigint, bigint],
): Promise<Array<{ id: string; streamId: string }>> {
  return sql<{ id: string; streamId: string }[]>`
    select id::text, stream_id as "streamId" from outbox
    where published_at is not null and stream_epoch = ${epoch}
      and published_at > now() - interval '1 hour'
      and ${streamIdPair(sql)} >= ${entryId(sql, horizon)}
    order by id desc limit 10000`;
}

/** Marks these rows unpublished again, if they are still as read (another node may have published one meanwhile). */
export async function unpublishLost(
  sql: Sql,
  epoch: string,
  lost: Array<{ id: string; streamId: string }>,
): Promise<number> {
  const res = await sql`
    update outbox set published_at = null, stream_id = null, stream_epoch = null
    from unnest(${lost.map((r) => r.id)}::bigint[], ${lost.map((r) => r.streamId)}::text[])
      as m (id, stream_id)
    where outbox.id = m.id and outbox.stream_id = m.stream_id and outbox.stream_epoch = ${epoch}`;
  return res.count;
}

/**
 * Deletes up to `limit` rows published with no epoch (before epochs existed, by an older
 * release during an upgrade, or by hand): nothing tells when they are consumed. A batch
 * at a time: one statement for all would hold their row locks for as long as it runs.
 */
export async function purgeWithoutEpoch(sql: Sql, limit: number): Promise<number> {
  const res = await sql`
    delete from outbox where id in (
      select id from outbox where published_at is not null and stream_epoch is null
      limit ${limit})`;
  return res.count;
}

/** Deletes the rows of this epoch below the horizon (every consumer is done), except `held`. */
export async function purgeConsumed(
  sql: Sql,
  epoch: string,
  horizon: [bigint, bigint],
  held: string[],
): Promise<number> {
  const res = await sql`
    delete from outbox
    where published_at is not null and stream_epoch = ${epoch}
      and ${streamIdPair(sql)} < ${entryId(sql, horizon)}
      and id <> all(${held}::bigint[])`;
  return res.count;
}
