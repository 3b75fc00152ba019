import type { RoleContext, RunningRole } from '../core/roles.ts';

/**
 * The realtime gateway role. It shares the process port with the other roles:
 * Socket.IO attaches to the same HTTP server under /socket.io.
 */
export async function startGateway(ctx: RoleContext): Promise<RunningRole> {
  ctx.deps.logger.info('gateway started');
  return {
    name: 'gateway',
    async stop() {},
  };
}
