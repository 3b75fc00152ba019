// What npm run check:plans fails a query for.
import type { PlanSummary } from './explain.ts';

/** A table this large is never read whole by a list query. */
export const LARGE_TABLE_ROWS = 10_000;

/**
 * A page may read up to this many rows per row it returns. An index walk that throws
 * away one row in a hundred (a filter on a column the index does not hold, a join that
 * misses) costs a page a few thousand rows at most; a plan that reads a part of a table
 * that grows with the data (all of an author's posts, every notification of an inbox
 * before a sort) reads tens of thousands for twenty, far past this.
 */
export const OVERREAD_RATIO = 100;

/**
 * Rows any page may read whatever it returns: the work that grows with what one person
 * has, not with the table, such as walking the list of accounts a user follows to merge
 * their posts (2,000 entries for the fixture that follows 2,000), and an empty page that
 * still has to look. 5,000 index entries take a millisecond or two here.
 */
export const OVERREAD_ALLOWANCE = 5_000;

/** The most rows a query returning `returned` rows may read. */
export const readBudget = (returned: number) => OVERREAD_RATIO * returned + OVERREAD_ALLOWANCE;

/** Why this plan fails, one line per reason; empty when it passes. */
export function planProblems(plan: PlanSummary, tableRows: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  for (const scan of plan.scans) {
    const rows = tableRows.get(scan.relation) ?? 0;
    if (scan.node === 'Seq Scan' && rows > LARGE_TABLE_ROWS) {
      problems.push(`Seq Scan on ${scan.relation} (${Math.round(rows)} rows)`);
    }
  }
  if (plan.rowsRead > readBudget(plan.rowsReturned)) {
    problems.push(
      `reads ${plan.rowsRead} rows for ${plan.rowsReturned} (more than ${OVERREAD_RATIO}× + ${OVERREAD_ALLOWANCE})`,
    );
  }
  return problems;
}
