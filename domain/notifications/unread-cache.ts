import { cacheScopes } from '../../core/cache-scopes.ts';
import type { Deps } from '../../core/deps.ts';
import { unreadBroadcastCount, unreadWrittenCount } from './inbox.ts';

/**
 * The unread count: the written rows' part through the read cache, the broadcast
 * items' part read each time. Every change to a user's written rows invalidates
 * the cached part after committing: the fan-out's and the personal notifications'
 * inserts (workers), marking read (the server), an account deletion's step. A
 * broadcast post changes the count of every follower at once, which no
 * invalidation could name; its part is a few index ranges per broadcast author
 * the user follows, and nothing at all for a user who follows none.
 */
export async function readUnreadCount(
  deps: Pick<Deps, 'sql' | 'cache'>,
  userId: string,
): Promise<number> {
  const [written, broadcast] = await Promise.all([
    deps.cache.read({ kind: 'unread', scope: cacheScopes.unread(userId) }, () =>
      unreadWrittenCount(deps.sql, userId),
    ),
    unreadBroadcastCount(deps.sql, userId),
  ]);
  return written + broadcast;
}
