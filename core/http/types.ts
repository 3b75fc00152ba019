import type { Logger } from '../logger.ts';

/** What an authenticated request knows about its caller. */
export interface AuthContext {
  userId: string;
  sessionId: string;
}

/**
 * Hono environment shared by every router of the project. The caller (`auth`) is not
 * here: only a route declared with `authedRoute` has it, typed by its middleware.
 */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
  };
}
