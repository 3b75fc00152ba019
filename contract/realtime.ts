import { z } from '@hono/zod-openapi';
import { MapCellCount, Notification, Post, PostKind } from './shapes.ts';

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
/**
 * The followers of a broadcast author: their sockets join it (at connect, on follow), and
 * each of the author's posts is one emit to it, whatever the audience.
 */
export const broadcastRoom = (authorId: string) => `followers:${authorId}`;

export interface AckError {
  code: string;
  message: string;
}
export type Ack<T> = { data: T } | { error: AckError };

/** A map view: its edges in degrees; minLng > maxLng when it crosses the antimeridian. */
export interface Bbox {
  minLng: number;
  minLat: number;
  maxLng: number;
  maxLat: number;
}

/** `minLng,minLat,maxLng,maxLat`; minLng > maxLng means the box crosses the antimeridian. */
export const BboxParam = z
  .string()
  .max(200)
  .transform((value, ctx): Bbox => {
    const texts = value.split(',').map((p) => p.trim());
    const parts = texts.map(Number);
    const [minLng, minLat, maxLng, maxLat] = parts as [number, number, number, number];
    const ok =
      parts.length === 4 &&
      // Number('') is 0: an empty part is a missing one, not a zero.
      texts.every((t) => t !== '') &&
      parts.every(Number.isFinite) &&
      Math.abs(minLng) <= 180 &&
      Math.abs(maxLng) <= 180 &&
      Math.abs(minLat) <= 90 &&
      Math.abs(maxLat) <= 90 &&
      minLat <= maxLat;
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected minLng,minLat,maxLng,maxLat with lng in [-180,180], lat in [-90,90], minLat ≤ maxLat',
      });
      return z.NEVER;
    }
    return { minLng, minLat, maxLng, maxLat };
  })
  .openapi({ type: 'string', example: '-9.25,38.68,-9.05,38.80' });

// What clients send with each event: one schema each, which the gateway validates with and
// the event map below takes its payload types from.

/** `notifications:sync`: everything after the notification `after` (the newest without it). */
export const NotificationsSyncPayload = z
  .object({
    after: z
      .uuid()
      .optional()
      .describe('the id of the newest notification the client holds; without it, the newest page'),
  })
  .strict()
  .optional()
  .default({});

/**
 * The earliest and latest instants PostgreSQL's timestamptz takes in ISO form: a valid
 * datetime beyond them (year 0000, or 9999 at a negative offset, past year 9999 in UTC)
 * means "every sighting" or "none" all the same, and is moved to the nearest of them.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A map's time window: sightings posted at or after this instant. An ISO-8601 datetime
 * with its offset (`Z` or `±hh:mm`); a future one is valid and selects nothing.
 */
export const SinceParam = z.iso
  .datetime({
    offset: true,
    error:
      'expected an ISO-8601 datetime with offset, e.g. 2025-06-01T00:00:00Z or 2025-06-01T00:00:00+02:00 (in a query string, + is written %2B)',
  })
  .transform((text) => new Date(Math.min(LATEST, Math.max(EARLIEST, Date.parse(text)))))
  .openapi({
    type: 'string',
    format: 'date-time',
    description:
      'Only sightings posted at or after this instant: an ISO-8601 datetime with offset (Z or ±hh:mm)',
    example: '2025-06-01T00:00:00Z',
  });

/** `map:subscribe`: bbox as the query string's form, or as [minLng, minLat, maxLng, maxLat]. */
export const MapSubscribePayload = z
  .object({
    bbox: z
      .union([
        z.string().max(200),
        z
          .array(z.number())
          .length(4)
          .transform((a) => a.join(',')),
      ])
      .pipe(BboxParam)
      .describe(
        "the view's edges, minLng,minLat,maxLng,maxLat: as text (e.g. -9.25,38.68,-9.05,38.80) or as four numbers; minLng > maxLng crosses the antimeridian",
      ),
    zoom: z
      .number()
      .min(0)
      .max(24)
      .describe("the map's zoom level, which picks the resolution of the cells"),
    kind: PostKind.optional().describe('count only sightings of this kind'),
    since: SinceParam.optional().describe(
      "Count only sightings posted at or after this instant (the map's time window): an ISO-8601 datetime with offset, e.g. 2025-06-01T00:00:00Z. Live map:sighting pushes are unaffected (a new sighting is always inside the window).",
    ),
  })
  .strict();

/** `map:unsubscribe`: no argument needed, and whatever a client sends is ignored. */
export const MapUnsubscribePayload = z.unknown();

/** `auth:renew`: a fresh access token for the socket's session. */
export const AuthRenewPayload = z.object({
  token: z
    .string()
    .min(1)
    .max(4096)
    .describe("a fresh access token of the socket's user (POST /api/v1/auth/refresh)"),
});

// What the server sends: one schema each, so that the event map below and any document of
// the realtime API come from the same source.

/** A map cell's id at each map resolution, keyed by the resolution. */
const CellsByResolution = z.record(z.string(), z.string());

/** A new located post in a subscribed area: the post as others see it (obscured at its coarse point). */
export const MapSighting = z.object({
  post: Post,
  cell: z.string().describe("the post's public cell (r9, or r6 when obscured)"),
  cells: CellsByResolution.describe(
    "its public point's cell at each map resolution, keyed by the resolution",
  ),
});
export type MapSighting = z.infer<typeof MapSighting>;

/** A post left the map (deleted, made private, moved): take it off. */
export const MapRetraction = z.object({
  postId: z.uuid().describe('the post to take off the map'),
  cells: CellsByResolution.describe(
    'the cells it left, at each map resolution, keyed by the resolution',
  ),
});
export type MapRetraction = z.infer<typeof MapRetraction>;

/** `auth:expiring`: when the socket's access token runs out. */
export const AuthExpiring = z.object({
  expiresAt: z.iso.datetime().describe('when the access token ran out'),
});

/** The acks' data, per event (an ack is `{ data }` or `{ error: { code, message } }`). */
export const NotificationsSyncResult = z.object({
  items: z.array(Notification).describe('oldest first'),
  hasMore: z
    .boolean()
    .describe(
      "more to come: ask again with after = the last item's id (after a sync without after: older ones exist)",
    ),
});
export const MapSubscribeResult = z.object({
  resolution: z.number().int().describe('the H3 resolution of the counted cells'),
  cells: z
    .array(MapCellCount)
    .describe('sightings counted per cell, as GET /api/v1/map/cells answers them'),
});
export const MapUnsubscribeResult = z.object({}).strict();
export const AuthRenewResult = z.object({
  expiresAt: z.iso.datetime().describe('when the new token runs out: renew before then'),
});

export interface ServerToClientEvents {
  notification: (notification: Notification) => void;
  'map:sighting': (sighting: MapSighting) => void;
  'map:retract': (retraction: MapRetraction) => void;
  /** The server is going away: reconnect (the client helper does so on its own). */
  'server:draining': () => void;
  /**
   * The access token ran out and the socket closes right after: refresh over HTTP and
   * reconnect with the new token (send `auth:renew` before expiry to keep a socket open).
   */
  'auth:expiring': (info: z.infer<typeof AuthExpiring>) => void;
}

export interface ClientToServerEvents {
  'notifications:sync': (
    payload: z.input<typeof NotificationsSyncPayload>,
    ack: (res: Ack<z.infer<typeof NotificationsSyncResult>>) => void,
  ) => void;
  'map:subscribe': (
    payload: z.input<typeof MapSubscribePayload>,
    ack: (res: Ack<z.infer<typeof MapSubscribeResult>>) => void,
  ) => void;
  'map:unsubscribe': (
    payload: z.input<typeof MapUnsubscribePayload>,
    ack: (res: Ack<z.infer<typeof MapUnsubscribeResult>>) => void,
  ) => void;
  /** Swaps the socket's access token for a fresh one without reconnecting. */
  'auth:renew': (
    payload: z.input<typeof AuthRenewPayload>,
    ack: (res: Ack<z.infer<typeof AuthRenewResult>>) => void,
  ) => void;
}
