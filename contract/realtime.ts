import { z } from 'zod';
import type { MapCellCount, Notification, Post } from './shapes.ts';

/** The realtime API: rooms, the Socket.IO event maps both ways, and ack shapes. */

/** The Socket.IO room every socket of a user joins. */
export const userRoom = (userId: string) => `user:${userId}`;

/**
 * The prefix of the Redis adapter's channels; gateway and emitters must agree on it.
 * Built on the stack's channel prefix (`channelPrefix` in core/redis.ts: REDIS_PREFIX
 * and the database index), never on REDIS_PREFIX alone: pub/sub ignores the index.
 */
export const socketChannelKey = (channelPrefix: string) => `${channelPrefix}socket.io`;
/** The live map's room of one H3 cell at one resolution (a `map:subscribe` joins a few). */
export const mapRoom = (resolution: number, cell: string) => `map:${resolution}:${cell}`;
/** Every socket of one login session, so a logout or revocation can close exactly those. */
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

export interface AckError {
  code: string;
  message: string;
}
export type Ack<T> = { data: T } | { error: AckError };

export const NotificationsSyncPayload = z
  .object({ after: z.uuid().optional() })
  .strict()
  .optional()
  .default({});

/** A new located post in a subscribed area: the post as others see it (obscured at its coarse point). */
export interface MapSighting {
  post: Post;
  /** The post's public cell (r9, or r6 when obscured). */
  cell: string;
  /** Its public point's cell at each map resolution, by resolution. */
  cells: Record<string, string>;
}

/** A post left the map (deleted, made private, moved): take it off. */
export interface MapRetraction {
  postId: string;
  cells: Record<string, string>;
}

export interface ServerToClientEvents {
  notification: (notification: Notification) => void;
  'map:sighting': (sighting: MapSighting) => void;
  'map:retract': (retraction: MapRetraction) => void;
  /** The server is going away: reconnect (the client helper does so on its own). */
  'server:draining': () => void;
  /** The access token ran out; send a fresh one with `auth:renew` or reconnect with it. */
  'auth:expiring': (info: { expiresAt: string }) => void;
}

export interface ClientToServerEvents {
  'notifications:sync': (
    payload: { after?: string },
    ack: (res: Ack<{ items: Notification[]; hasMore: boolean }>) => void,
  ) => void;
  'map:subscribe': (
    payload: { bbox: string | [number, number, number, number]; zoom: number; kind?: string },
    ack: (res: Ack<{ resolution: number; cells: MapCellCount[] }>) => void,
  ) => void;
  'map:unsubscribe': (
    payload: Record<string, never> | undefined,
    ack: (res: Ack<Record<string, never>>) => void,
  ) => void;
  /** Swaps the socket's access token for a fresh one without reconnecting. */
  'auth:renew': (
    payload: { token: string },
    ack: (res: Ack<{ expiresAt: string }>) => void,
  ) => void;
}
