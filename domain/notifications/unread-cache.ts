import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { unreadCount } from './queries.ts';

/**
 * The unread count through the read cache. Every change to a user's inbox
 * invalidates it after committing: the fan-out's and the personal notifications'
 * inserts (workers), marking read (the server), an account deletion's step.
 */
export function readUnreadCount(
  deps: Pick<Deps, 'sql' | 'cache'>,
  userId: string,
): Promise<number> {
  return deps.cache.read({ kind: 'unread', scope: cacheScopes.unread(userId) }, () =>
    unreadCount(deps.sql, userId),
  );
}
