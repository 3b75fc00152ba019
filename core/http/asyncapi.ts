import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { CLIENT_EVENTS, SERVER_EVENTS } from './asyncapi-events.ts';

/**
 * The realtime API as an AsyncAPI 3.0 document, served at /api/v1/asyncapi.json beside the
 * HTTP API's OpenAPI document. Every payload and ack schema is `z.toJSONSchema` of the zod
 * schema the gateway validates with or the contract types a push with, so the document
 * cannot drift from the code; what each event means is in asyncapi-events.ts.
 */

// The document is plain JSON.
type Json = Record<string, unknown>;

export type ClientEvent = keyof typeof CLIENT_EVENTS;
export type ServerEvent = keyof typeof SERVER_EVENTS;

/** Every event both ways, in the order the document lists them. */
export const CLIENT_EVENT_NAMES = Object.keys(CLIENT_EVENTS) as ClientEvent[];
export const SERVER_EVENT_NAMES = Object.keys(SERVER_EVENTS) as ServerEvent[];

/**
 * A contract schema as the document's JSON Schema (draft-07, which AsyncAPI's default
 * schema format extends): read as input for what clients send, as output for what the
 * server sends. zod closes every object it outputs (`additionalProperties: false`); the
 * document leaves them open, since the contract lets the server add fields and a client
 * must not refuse them. Objects the schema itself closes (`.strict()`) stay closed.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const json: Json = z.toJSONSchema(schema, {
    target: 'draft-07',
    io,
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (io === 'output' && def.type === 'object' && def.catchall === undefined) {
        delete jsonSchema.additionalProperties;
      }
    },
  });
  delete json.$schema;
  return json;
}

/** What an ack of `event` can be: `{ data }`, or `{ error }` with one of the event's codes. */
export function ackSchemaOf(event: ClientEvent) {
  const { result, errors } = CLIENT_EVENTS[event];
  const [first, ...rest] = Object.keys(errors) as ErrorCode[];
  if (!first) throw new Error(`${event} lists no error codes`);
  return z.union([
    z.object({ data: result }),
    z.object({ error: z.object({ code: z.enum([first, ...rest]), message: z.string() }) }),
  ]);
}

/** A channel's (and its operation's) key: the event name in camel case (`map:subscribe` → `mapSubscribe`). */
export const channelId = (event: string) =>
  event.replace(/[:-](\w)/g, (_, c: string) => c.toUpperCase());

const operationId = (action: 'send' | 'receive', event: string) => {
  const id = channelId(event);
  return `${action}${id[0]!.toUpperCase()}${id.slice(1)}`;
};

const DESCRIPTION = `The realtime API of Unimal: Socket.IO 4 on the host of the HTTP API, path \`/socket.io\`, websocket transport only.

This document describes a **client** of the gateway: a \`send\` operation is an event the client emits, answered by an ack (the operation's \`reply\`); a \`receive\` operation is an event the server pushes. Each event is a channel whose address is the event's name.

**Connecting.** \`io(url, { path: '/socket.io', transports: ['websocket'], auth: { token: accessToken } })\` with the access token of \`POST /api/v1/auth/login\` (or \`/auth/refresh\`). A missing, invalid or expired token, or one whose session has ended, is refused with \`connect_error\` whose message is \`unauthorized\`: refresh the token, then connect again. \`unavailable\` means the node is shutting down or a dependency is down: connect again after a pause. socket.io-client retries neither on its own. A polling transport is refused with HTTP 400. Each socket is in its user's room, where its notifications arrive.

**Acks.** Every event a client sends is answered \`{ "data": ... }\` or \`{ "error": { "code", "message" } }\`; each operation's reply lists the codes it can carry (and \`x-errors\` says when). A malformed payload gets a \`validation_failed\` ack, never a dropped connection; an event not listed here is answered \`not_found\`.

**After every (re)connect** send \`notifications:sync\` from the newest notification held (pushes are not replayed) and \`map:subscribe\` again (subscriptions belong to the socket). Renew the access token with \`auth:renew\` before it runs out.

Schemas are JSON Schema draft-07, generated from the zod schemas the gateway validates with (read as input) and the contract types its pushes with (read as output). What the server sends may gain fields: do not refuse unknown ones. The HTTP API is described at \`/api/v1/openapi.json\`; both are rendered at \`/api/v1/docs\`.`;

const SERVER_DESCRIPTION =
  'The gateway shares the host (and port) of the HTTP API: `wss` where that is served over ' +
  'https. Socket.IO 4 (protocol 5) over websocket only; the access token goes in the ' +
  'handshake as `auth: { token }`.';

/** The AsyncAPI 3.0 document of every socket event, both ways. */
export function createAsyncApiDocument(): Json {
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};

  for (const event of CLIENT_EVENT_NAMES) {
    const doc = CLIENT_EVENTS[event];
    const id = channelId(event);
    const ref = `#/channels/${id}`;
    channels[id] = {
      address: event,
      title: event,
      messages: {
        [id]: {
          name: event,
          title: event,
          summary: doc.summary,
          payload: jsonSchemaOf(doc.payload, 'input'),
        },
        [`${id}Ack`]: {
          name: `${event} ack`,
          title: `${event} ack`,
          summary: `The answer to ${event}: { data } or { error: { code, message } }.`,
          payload: jsonSchemaOf(ackSchemaOf(event), 'output'),
          'x-errors': doc.errors,
        },
      },
    };
    operations[operationId('send', event)] = {
      action: 'send',
      channel: { $ref: ref },
      title: event,
      summary: doc.summary,
      description: doc.description,
      messages: [{ $ref: `${ref}/messages/${id}` }],
      reply: { channel: { $ref: ref }, messages: [{ $ref: `${ref}/messages/${id}Ack` }] },
    };
  }

  for (const event of SERVER_EVENT_NAMES) {
    const doc = SERVER_EVENTS[event];
    const id = channelId(event);
    const ref = `#/channels/${id}`;
    const message: Json = { name: event, title: event, summary: doc.summary };
    if (doc.payload) message.payload = jsonSchemaOf(doc.payload, 'output');
    channels[id] = { address: event, title: event, messages: { [id]: message } };
    operations[operationId('receive', event)] = {
      action: 'receive',
      channel: { $ref: ref },
      title: event,
      summary: doc.summary,
      description: doc.description,
      messages: [{ $ref: `${ref}/messages/${id}` }],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: { title: 'Unimal realtime API', version: '1', description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: '{host}',
        protocol: 'ws',
        pathname: '/socket.io',
        title: 'The realtime gateway',
        description: SERVER_DESCRIPTION,
        variables: {
          host: {
            default: 'localhost:3000',
            description: 'the host and port serving the HTTP API (and this document)',
          },
        },
        security: [{ $ref: '#/components/securitySchemes/accessToken' }],
      },
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        accessToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'The access token of `POST /api/v1/auth/login` or `/auth/refresh`, sent in the ' +
            "Socket.IO handshake's auth object as `{ token }` (not in a header). Refused with " +
            '`connect_error` `unauthorized`.',
        },
      },
    },
  };
}
