import type { z } from 'zod';
import {
  type Ack,
  AuthExpiring,
  AuthRenewPayload,
  AuthRenewResult,
  type ClientToServerEvents,
  MapRetraction,
  MapSighting,
  MapSubscribePayload,
  MapSubscribeResult,
  MapUnsubscribePayload,
  MapUnsubscribeResult,
  Notification,
  NotificationsSyncPayload,
  NotificationsSyncResult,
  type ServerToClientEvents,
} from '../../contract/index.ts';
import type { ErrorCode } from '../errors.ts';

/**
 * Every event of the realtime API, as the AsyncAPI document (asyncapi.ts) describes it:
 * what each means, the contract's schema of its payload and, for what clients send, of its
 * ack and the error codes the gateway can answer it with. Keyed by the contract's event
 * maps, so an event added there without an entry here fails to compile (and the test of
 * the document, which reads the maps' keys, fails too).
 */

type ClientPayload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
type AckData<E extends keyof ClientToServerEvents> = Parameters<
  ClientToServerEvents[E]
>[1] extends (res: Ack<infer T>) => void
  ? T
  : never;

export interface ClientEventDoc<E extends keyof ClientToServerEvents> {
  summary: string;
  description: string;
  /** What the gateway validates the payload with (read as input: what a client may send). */
  payload: z.ZodType<unknown, ClientPayload<E>>;
  /** The ack's `data` on success. */
  result: z.ZodType<AckData<E>>;
  /** Each code the gateway can answer this event with, and when. */
  errors: Partial<Record<ErrorCode, string>>;
}

export interface ServerEventDoc<F extends (...args: never[]) => void> {
  summary: string;
  description: string;
  /** The payload's schema (read as output: what the server sends); null for none. */
  payload: Parameters<F> extends [] ? null : z.ZodType<Parameters<F>[0]>;
}

// Codes every client event can be answered with, or every one that reaches PostgreSQL.
const RATE_LIMITED =
  'the socket sent more events than its budget allows (a steady rate per second, bursts of twice that); slow down. A socket that keeps on after being told is disconnected';
const UNAVAILABLE = 'the database cannot be reached just now; try again shortly';
const INTERNAL = 'an unexpected failure, logged by the server; try again later';

export const CLIENT_EVENTS = {
  'notifications:sync': {
    summary: 'Fetch the notifications missed while away',
    description:
      'Answers the notifications after `after` (the id of the newest one the client holds), ' +
      'oldest first, a page at a time: while `hasMore` is true, ask again with `after` set to ' +
      "the last item's id. Two notifications may commit in the other order than they were " +
      'made, so the answer also repeats the few made in the seconds before `after`: drop ids ' +
      'you already have (pushes are at-least-once too). When the notification `after` is ' +
      'gone (deleted with its post), everything since its time is sent. Without `after` the ' +
      'newest page is sent, oldest first, and `hasMore` then says that older ones exist. ' +
      'Pushes are not replayed: send this after every connect and reconnect.',
    payload: NotificationsSyncPayload,
    result: NotificationsSyncResult,
    errors: {
      validation_failed:
        '`after` is not a notification id (a UUID), or the payload has other fields',
      rate_limited: RATE_LIMITED,
      unavailable: UNAVAILABLE,
      internal: INTERNAL,
    },
  },
  'map:subscribe': {
    summary: 'Watch an area of the live map',
    description:
      "Puts the socket in the live map's rooms of the H3 cells covering `bbox` at the " +
      'resolution that suits `zoom` (coarser when the area needs too many cells), replacing ' +
      "the socket's previous subscription, and answers the sightings counted per cell, as " +
      '`GET /api/v1/map/cells` does. From then on the socket receives `map:sighting` and ' +
      '`map:retract` for posts in those cells, of every kind: the filters narrow the counts ' +
      'only. `bbox` is `minLng,minLat,maxLng,maxLat`, as text or as four numbers; ' +
      'minLng > maxLng crosses the antimeridian. The subscription belongs to the socket: ' +
      'after a reconnect, subscribe again.',
    payload: MapSubscribePayload,
    result: MapSubscribeResult,
    errors: {
      validation_failed:
        'the payload is malformed (a bbox out of range, a zoom outside 0–24, an unknown ' +
        'field), or the area is too large for the zoom: zoom out or shrink it',
      conflict:
        'a later `map:subscribe` or `map:unsubscribe` of the same socket was received first; ' +
        'that one stands',
      rate_limited: RATE_LIMITED,
      unavailable: UNAVAILABLE,
      internal: INTERNAL,
    },
  },
  'map:unsubscribe': {
    summary: 'Stop watching the live map',
    description:
      'Leaves every map room the socket is in. Needs no payload, and ignores any it is given.',
    payload: MapUnsubscribePayload,
    result: MapUnsubscribeResult,
    errors: { rate_limited: RATE_LIMITED },
  },
  'auth:renew': {
    summary: "Swap the socket's access token for a fresh one",
    description:
      'Refresh the access token over HTTP (`POST /api/v1/auth/refresh`) before it runs out ' +
      'and hand the new one to the open socket: the gateway keeps the socket, its rooms and ' +
      'its map subscription, and answers the new expiry. The token must be valid, of a live ' +
      "session, and of the socket's user; the socket then follows that token's session (a " +
      'logout of it closes the socket). A socket whose token runs out unrenewed is told ' +
      '(`auth:expiring`) and disconnected.',
    payload: AuthRenewPayload,
    result: AuthRenewResult,
    errors: {
      validation_failed: '`token` is missing, empty or longer than 4096 characters',
      unauthorized:
        'the token is invalid or expired, or its session has ended (logout, revocation, ' +
        'deleted account): refresh, or log in again',
      forbidden: "the token belongs to another user than the socket's",
      rate_limited: RATE_LIMITED,
      unavailable: UNAVAILABLE,
      internal: INTERNAL,
    },
  },
} as const satisfies { [E in keyof ClientToServerEvents]: ClientEventDoc<E> };

export const SERVER_EVENTS = {
  notification: {
    summary: 'A new notification for the signed-in user',
    description:
      'Pushed to every socket of the user as the notification is made: someone they follow ' +
      'posted, someone commented on or liked their post, someone followed them. At least ' +
      'once: the same ' +
      'notification may come again (by push or by `notifications:sync`); keep the newest id ' +
      'for the next sync.',
    payload: Notification,
  },
  'map:sighting': {
    summary: 'A post appeared in a watched area of the map',
    description:
      'A located post was made, or moved, into a cell the socket watches (`map:subscribe`). ' +
      'The post is as everyone sees it: an obscured one at the centre of its coarse cell; ' +
      'private posts never appear. `cells` gives its cell at every map resolution, to add it ' +
      'to whichever aggregates the client shows.',
    payload: MapSighting,
  },
  'map:retract': {
    summary: 'A post left a watched area of the map',
    description:
      'A post the socket may show was deleted, made private or moved: take it off (a moved ' +
      'post then comes back with a `map:sighting` in its new cells). `cells` gives the cells ' +
      'it left, at every map resolution.',
    payload: MapRetraction,
  },
  'auth:expiring': {
    summary: "The socket's access token ran out",
    description:
      'Sent when the access token the socket holds expires unrenewed, just before the ' +
      'gateway disconnects the socket (reason `io server disconnect`, after which ' +
      'socket.io-client does not reconnect on its own). Too late for `auth:renew`: refresh ' +
      'the token over HTTP and connect again with it. Renew before `expiresAt` to never see it.',
    payload: AuthExpiring,
  },
  'server:draining': {
    summary: 'This gateway node is shutting down',
    description:
      'The node is about to close its connections; socket.io-client reconnects on its own ' +
      '(to another node, behind the reverse proxy). Then sync and subscribe again, as after ' +
      'any reconnect.',
    payload: null,
  },
} as const satisfies {
  [E in keyof ServerToClientEvents]: ServerEventDoc<ServerToClientEvents[E]>;
};
