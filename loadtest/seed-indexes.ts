// Bulk loading without the secondary indexes: PostgreSQL builds an index from a sorted
// pass over the table far faster than it maintains it row by row (a million posts carry
// six), so the seed drops them first and rebuilds them, from their own definitions, after.
import type { Sql } from '../core/db.ts';

/** The tables the seed fills in bulk. */
const BULK_TABLES = ['follows', 'posts', 'comments', 'likes', 'notifications', 'map_cells'];

export interface DroppedIndex {
  name: string;
  definition: string;
}

/**
 * Drops the tables' indexes other than primary keys and constraints' (the seed's
 * ON CONFLICT clauses need those) and returns their definitions, as pg_get_indexdef
 * gives them, to rebuild them exactly as the migrations made them.
 */
export async function dropSecondaryIndexes(sql: Sql): Promise<DroppedIndex[]> {
  const indexes = await sql<DroppedIndex[]>`
    select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_class t on t.oid = i.indrelid
    join pg_namespace n on n.oid = t.relnamespace and n.nspname = current_schema()
    where t.relname = any(${BULK_TABLES}::text[]) and not i.indisprimary
      and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
    order by c.relname`;
  for (const index of indexes) await sql`drop index ${sql(index.name)}`;
  return indexes;
}

/** Builds the dropped indexes again, on one connection with room to sort in memory. */
export async function rebuildIndexes(sql: Sql, indexes: DroppedIndex[]) {
  const conn = await sql.reserve();
  try {
    await conn`set maintenance_work_mem = '256MB'`;
    for (const index of indexes) await conn.unsafe(index.definition);
  } finally {
    await conn`reset maintenance_work_mem`.catch(() => {});
    conn.release();
  }
}
