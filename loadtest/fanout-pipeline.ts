// bench:fanout's hands on the pipeline: a post over HTTP, whether the fan-out is done
// with everything posted so far, and how many rows a post's whole handling wrote.
import { EVENTS_STREAM, FANOUT_STREAM } from '../contract/index.ts';
import { type BenchRun, log } from './harness.ts';

/** One post by the token's user; resolves when the response is in (performance.now()). */
export async function post(
  serverUrl: string,
  token: string,
  body: Record<string, unknown>,
): Promise<{ id: string; answeredAt: number }> {
  const res = await fetch(`${serverUrl}/api/v1/posts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answeredAt = performance.now();
  const created = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(`POST answered ${res.status}`);
  return { id: created.id, answeredAt };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** XINFO's flat [name, value, …] replies as records. */
const record = (fields: unknown[]) => {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[String(fields[i])] = fields[i + 1];
  return out;
};

/**
 * Resolves once every event is on the stream and every consumer group of the events and
 * chunk streams has been handed, and has acknowledged, everything on them: the fan-out
 * of each post so far is over, its chunks included (they are queued before their post's
 * message is acknowledged).
 */
export async function drained(run: BenchRun, timeoutMs = 600_000): Promise<void> {
  const redis = run.redis();
  const until = performance.now() + timeoutMs;
  try {
    for (;;) {
      const [outbox] = await run.sql<{ n: number }[]>`
        select count(*)::int as n from outbox where published_at is null`;
      let busy = outbox!.n > 0;
      for (const stream of [EVENTS_STREAM, FANOUT_STREAM]) {
        if (busy) break;
        // XINFO's key is not prefixed by ioredis: it carries the prefix itself.
        const key = `${run.redisPrefix}${stream}`;
        const info = await redis.xinfo('STREAM', key).catch(() => null);
        if (!info) continue;
        const last = record(info as unknown[])['last-generated-id'];
        const groups = ((await redis.xinfo('GROUPS', key)) as unknown[][]).map(record);
        busy = groups.some((g) => Number(g.pending) > 0 || g['last-delivered-id'] !== last);
      }
      if (!busy) return;
      if (performance.now() > until) throw new Error('the fan-out did not drain in time');
      await sleep(100);
    }
  } finally {
    redis.disconnect();
  }
}

/** Rows inserted per table, and rows updated in all, as PostgreSQL's statistics count them. */
export interface TableWrites {
  inserted: Record<string, number>;
  updated: number;
}

async function tableWrites(run: BenchRun): Promise<TableWrites> {
  const rows = await run.sql<{ relname: string; ins: string; upd: string }[]>`
    select relname, n_tup_ins as ins, n_tup_upd as upd from pg_stat_user_tables`;
  return {
    inserted: Object.fromEntries(rows.map((r) => [r.relname, Number(r.ins)])),
    updated: rows.reduce((sum, r) => sum + Number(r.upd), 0),
  };
}

const total = (w: TableWrites) =>
  Object.values(w.inserted).reduce((sum, n) => sum + n, 0) + w.updated;

/**
 * The statistics once they stop moving. A backend reports its counts when it goes idle,
 * but no more than once a second: the rest waits for its idle timer (10 s in
 * PostgreSQL 15), so only 11 quiet seconds say every count is in.
 */
export async function settledWrites(run: BenchRun): Promise<TableWrites> {
  let last = await tableWrites(run);
  const started = performance.now();
  let quietSince = started;
  for (;;) {
    await sleep(1000);
    const now = await tableWrites(run);
    if (total(now) !== total(last)) quietSince = performance.now();
    else if (performance.now() - quietSince >= 11_000) return now;
    // Something keeps writing: say so rather than wait for ever.
    if (performance.now() - started > 90_000) {
      log('warning: the write statistics did not settle in 90 s; the counts may include it');
      return now;
    }
    last = now;
  }
}

/** What was written between two settled readings: inserts by table (tables with some). */
export function writesBetween(before: TableWrites, after: TableWrites): TableWrites {
  const inserted: Record<string, number> = {};
  for (const [table, n] of Object.entries(after.inserted)) {
    const delta = n - (before.inserted[table] ?? 0);
    if (delta !== 0) inserted[table] = delta;
  }
  return { inserted, updated: after.updated - before.updated };
}

export const describeWrites = (w: TableWrites) =>
  `${Object.entries(w.inserted)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([table, n]) => `${table} ${n.toLocaleString('en')}`)
    .join(', ')}; ${w.updated.toLocaleString('en')} updated`;

export const insertedTotal = (w: TableWrites) =>
  Object.values(w.inserted).reduce((sum, n) => sum + n, 0);

/** The inbox rows of one post: written rows, and its broadcast row. */
export async function inboxRowsOf(run: BenchRun, postId: string) {
  const [row] = await run.sql<{ written: number; broadcast: number }[]>`
    select (select count(*)::int from notifications where post_id = ${postId}) as written,
      (select count(*)::int from broadcast_notifications where post_id = ${postId}) as broadcast`;
  return row!;
}
