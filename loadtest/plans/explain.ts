// EXPLAIN (ANALYZE, BUFFERS) of a statement exactly as the application sent it, and the
// figures npm run check:plans judges it by.
import type postgres from 'postgres';
import type { Sql } from '../../core/db.ts';

/** One statement as postgres.js sent it: its text and its parameters, before serialisation. */
export interface SentQuery {
  query: string;
  params: unknown[];
}

/**
 * A `debug` option for postgres.js that records every statement the instance sends, and
 * the way to take what was recorded since the last call: run a domain function with an
 * instance made with it, and the statements it sent are what `take` returns.
 */
export function queryRecorder() {
  let sent: SentQuery[] = [];
  return {
    debug: (_connection: number, query: string, params: unknown[]) => {
      sent.push({ query, params: [...params] });
    },
    take(): SentQuery[] {
      const taken = sent;
      sent = [];
      return taken;
    },
  };
}

/** The fields of a node of EXPLAIN (FORMAT JSON) read here. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Rows Removed by Join Filter'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** Nodes that read rows of a table or index (a bitmap index scan's rows are its heap scan's). */
const SCANS = new Set([
  'Seq Scan',
  'Index Scan',
  'Index Only Scan',
  'Bitmap Heap Scan',
  'Tid Scan',
  'Tid Range Scan',
  'Sample Scan',
]);

export interface ScanRead {
  node: string;
  relation: string;
  index?: string;
  /** Rows the node produced and the rows it read and threw away, over all its loops. */
  rows: number;
}

export interface PlanSummary {
  planningMs: number;
  executionMs: number;
  /** Time compiling the plan (part of executionMs): a plan priced past jit_above_cost. */
  jitMs: number;
  rowsReturned: number;
  /** Sum over scan nodes of (rows produced + rows removed by filter or recheck) × loops. */
  rowsRead: number;
  sharedHit: number;
  sharedRead: number;
  /** Every node type in the plan, once each, in the order first met. */
  nodeTypes: string[];
  scans: ScanRead[];
}

export function summarise(plan: {
  Plan: PlanNode;
  'Planning Time': number;
  'Execution Time': number;
  JIT?: { Timing?: { Total?: number } };
}): PlanSummary {
  const nodeTypes: string[] = [];
  const scans: ScanRead[] = [];
  const walk = (node: PlanNode) => {
    if (!nodeTypes.includes(node['Node Type'])) nodeTypes.push(node['Node Type']);
    if (SCANS.has(node['Node Type'])) {
      const perLoop =
        node['Actual Rows'] +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0);
      scans.push({
        node: node['Node Type'],
        relation: node['Relation Name'] ?? '?',
        ...(node['Index Name'] ? { index: node['Index Name'] } : {}),
        rows: Math.round(perLoop * node['Actual Loops']),
      });
    }
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  return {
    planningMs: plan['Planning Time'],
    executionMs: plan['Execution Time'],
    jitMs: plan.JIT?.Timing?.Total ?? 0,
    rowsReturned: plan.Plan['Actual Rows'] * plan.Plan['Actual Loops'],
    rowsRead: scans.reduce((sum, s) => sum + s.rows, 0),
    sharedHit: plan.Plan['Shared Hit Blocks'] ?? 0,
    sharedRead: plan.Plan['Shared Read Blocks'] ?? 0,
    nodeTypes,
    scans,
  };
}

/**
 * Runs the statement under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) with its parameters,
 * as an unnamed statement: planned for these values, as postgres.js's first executions
 * of a prepared statement are.
 */
export async function explain(sql: Sql, sent: SentQuery): Promise<PlanSummary> {
  const [row] = await sql.unsafe(
    `explain (analyze, buffers, format json) ${sent.query}`,
    sent.params as postgres.ParameterOrJSON<never>[],
  );
  const [plan] = (row as unknown as { 'QUERY PLAN': Parameters<typeof summarise>[0][] })[
    'QUERY PLAN'
  ];
  return summarise(plan!);
}

/**
 * The same under the generic plan: the one PostgreSQL may settle on for a prepared
 * statement after its fifth execution (plan_cache_mode auto), planned without the
 * parameters' values. postgres.js prepares every statement, so this is the plan a busy
 * server runs. EXPLAIN takes no bound parameters, so the statement is PREPAREd, its
 * parameters are turned into literals of the types PostgreSQL inferred for them (by
 * PostgreSQL itself, quote_nullable), and EXECUTEd under EXPLAIN.
 */
export async function explainGeneric(sql: Sql, sent: SentQuery): Promise<PlanSummary> {
  const conn = await sql.reserve();
  try {
    await conn.unsafe('set plan_cache_mode = force_generic_plan');
    await conn.unsafe(`prepare plan_check as ${sent.query}`);
    const [prepared] = await conn.unsafe<{ types: string[] }[]>(
      `select parameter_types::text[] as types from pg_prepared_statements where name = 'plan_check'`,
    );
    const types = prepared!.types;
    let args = '';
    if (types.length > 0) {
      const [quoted] = await conn.unsafe<{ literals: string[] }[]>(
        `select array[${types.map((t, i) => `quote_nullable($${i + 1}::${t}) || '::${t}'`).join(', ')}]::text[] as literals`,
        sent.params as postgres.ParameterOrJSON<never>[],
      );
      args = `(${quoted!.literals.join(', ')})`;
    }
    const [row] = await conn.unsafe(
      `explain (analyze, buffers, format json) execute plan_check${args}`,
    );
    const [plan] = (row as unknown as { 'QUERY PLAN': Parameters<typeof summarise>[0][] })[
      'QUERY PLAN'
    ];
    return summarise(plan!);
  } finally {
    await conn.unsafe('deallocate plan_check').catch(() => {});
    await conn.unsafe('reset plan_cache_mode').catch(() => {});
    conn.release();
  }
}

/** Estimated rows of each table (pg_class.reltuples, kept by ANALYZE and VACUUM). */
export async function tableSizes(sql: Sql, tables: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ name: string; rows: number }[]>`
    select relname as name, greatest(reltuples, 0)::float8 as rows
    from pg_class where relname = any(${tables}::text[]) and relkind in ('r', 'p', 'm')`;
  return new Map(rows.map((r) => [r.name, r.rows]));
}
