import type { Logger } from '../logger.ts';

/** What an authenticated request knows about its caller. */
export interface AuthContext {
  userId: string;
  sessionId: string;
}

/** Hono environment shared by every router of the project. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    auth: AuthContext;
  };
}
