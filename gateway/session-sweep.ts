import type { Deps } from '../core/deps.ts';
import { liveSessionIds } from '../domain/auth/queries.ts';
import type { AppServer, AppSocket } from './socket-events.ts';

/** Disconnects this node's sockets whose session is no longer live. */
export async function closeEndedSessions(
  deps: Pick<Deps, 'sql'>,
  sockets: Iterable<AppSocket>,
): Promise<void> {
  const local = [...sockets];
  const checked = new Set(local.map((s) => s.data.sessionId));
  const live = await liveSessionIds(deps.sql, [...checked]);
  // A socket renewed onto another session meanwhile was not checked: the next round will.
  for (const socket of local) {
    const { sessionId } = socket.data;
    if (checked.has(sessionId) && !live.has(sessionId)) socket.disconnect(true);
  }
}

/**
 * A safety net for revocations whose announcement was lost (Redis unreachable at that
 * moment): every `socketSessionCheckMs` (0: never), one query finds the local sockets whose
 * session ended. Returns what stops it.
 */
export function startSessionSweep(
  deps: Pick<Deps, 'sql' | 'config' | 'logger'>,
  io: AppServer,
): () => void {
  const every = deps.config.socketSessionCheckMs;
  if (every <= 0) return () => {};
  const timer = setInterval(() => {
    void closeEndedSessions(deps, io.of('/').sockets.values()).catch((err: Error) =>
      deps.logger.warn({ err: err.message }, 'socket session check failed'),
    );
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
