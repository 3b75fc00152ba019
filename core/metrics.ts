import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per process (or per test app), never prom-client's global one, so
 * that several apps in one test process do not collide on metric names.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, matched route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    streamMessages: new Counter({
      name: 'stream_messages_total',
      help: 'Stream messages handled by consumer group and outcome (ok, failed, dead_lettered)',
      labelNames: ['group', 'outcome'] as const,
      registers: [registry],
    }),
    fanoutDeliveries: new Counter({
      name: 'fanout_deliveries_total',
      help: "Followers told of a post by the fan-out: a push to each one's room and an inbox row",
      registers: [registry],
    }),
    streamTakeovers: new Counter({
      name: 'stream_takeovers_total',
      help: 'Stream messages a consumer took over from a dead one (no heartbeat), by consumer group',
      labelNames: ['group'] as const,
      registers: [registry],
    }),
    socketConnections: new Counter({
      name: 'socket_connections_total',
      help: 'Socket.IO connection attempts by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    socketsConnected: new Gauge({
      name: 'sockets_connected',
      help: 'Sockets connected to this gateway node now',
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'read_cache_lookups_total',
      help: 'Read cache lookups by kind and outcome: hit (Redis), miss (PostgreSQL, then stored), bypass (PostgreSQL: cache off or Redis unreachable)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    sessionCache: new Counter({
      name: 'session_cache_lookups_total',
      help: 'Session checks by outcome: hit (memory), miss (PostgreSQL, then remembered), bypass (PostgreSQL: not hearing revocations)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    authEvents: new Counter({
      name: 'auth_events_total',
      help: 'Authentication outcomes (signup, login, refresh, reuse detected, rate limited)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
