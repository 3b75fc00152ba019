import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import type { CacheEntry } from '../../core/read-cache.ts';
import { findActiveUser } from './queries.ts';
import type { User } from './schema.ts';
import { toUser } from './user-rows.ts';

/**
 * A profile as everyone sees it (with its counts), through the read cache.
 * Posts, lists and the profile route all compose their author from here, so a
 * profile change invalidates one entry, never the posts that show it.
 */

const userEntry = (id: string): CacheEntry => ({ kind: 'user', scope: cacheScopes.user(id) });

/** The live account's public profile, or null when there is none (never was, or deleted). */
export async function readProfile(
  deps: Pick<Deps, 'sql' | 'cache'>,
  id: string,
): Promise<User | null> {
  return deps.cache.read(userEntry(id), async () => {
    const row = await findActiveUser(deps.sql, id);
    return row ? toUser(row) : null;
  });
}
