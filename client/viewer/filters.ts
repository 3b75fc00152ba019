// What the map shows: every kind or one, and any time, the last 7 days or today.
import type { Post, PostKind } from '../../contract/index.ts';

export interface Filters {
  kind?: PostKind;
  /** ISO time: sightings posted at or after it. */
  since?: string;
}

const kindSelect = () => document.getElementById('filter-kind') as HTMLSelectElement;
const whenSelect = () => document.getElementById('filter-when') as HTMLSelectElement;

/**
 * The filters as the selects stand now: "today" from this device's midnight, "this week"
 * from the midnight six days before (seven days, today's included).
 */
export function currentFilters(now = new Date()): Filters {
  const filters: Filters = {};
  const kind = kindSelect().value;
  if (kind) filters.kind = kind as PostKind;
  const when = whenSelect().value;
  // Both start at a midnight, not at this very moment: the same instant all day long, so
  // every viewer on the same window shares the server's cached counts.
  const midnight = (daysBack: number) =>
    new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack).toISOString();
  if (when === 'today') filters.since = midnight(0);
  else if (when === 'week') filters.since = midnight(6);
  return filters;
}

/** Whether a sighting passes the filters. */
export const passes = (post: Post, filters: Filters) =>
  (!filters.kind || post.kind === filters.kind) &&
  (!filters.since || post.createdAt >= filters.since);

/** Calls `changed` whenever a filter changes; returns the unsubscription. */
export function onFiltersChange(changed: () => void): () => void {
  const selects = [kindSelect(), whenSelect()];
  for (const s of selects) s.addEventListener('change', changed);
  return () => {
    for (const s of selects) s.removeEventListener('change', changed);
  };
}
