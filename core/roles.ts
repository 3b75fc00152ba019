import type { Server } from 'node:http';
import type { Deps } from './deps.ts';

/** What a role gets when its process starts: the shared deps and the HTTP server on the process port. */
export interface RoleContext {
  deps: Deps;
  httpServer: Server;
}

/** A started role; `stop` lets in-flight work finish and releases what the role holds. */
export interface RunningRole {
  name: string;
  stop(): Promise<void>;
}
