import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { bool, duration, int, url } from './config-values.ts';

/** The roles one process can play; `npm start` runs all of them on one port. */
export const ROLE_NAMES = ['server', 'gateway', 'workers'] as const;
export type Role = (typeof ROLE_NAMES)[number];

/**
 * Every environment variable the process reads, with its local default.
 * The README's configuration table mirrors this schema.
 */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ROLES: z
    .string()
    .default('server,gateway,workers')
    .transform((v, ctx) => {
      const roles = [
        ...new Set(
          v
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
        ),
      ];
      const bad = roles.filter((r) => !(ROLE_NAMES as readonly string[]).includes(r));
      if (roles.length === 0 || bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a comma-separated list of ${ROLE_NAMES.join(', ')}; got ${bad.join(', ') || 'nothing'}`,
        });
        return z.NEVER;
      }
      return roles as Role[];
    }),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default(
    'postgres://postgres@127.0.0.1:5432/unimal',
  ),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  DATABASE_CONNECT_TIMEOUT: duration.default(30_000),
  DATABASE_CREATE: bool.optional(),
  MIGRATE_ON_START: bool.default(true),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379/0'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
    .default('unimal:'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL: duration.default(900_000),
  REFRESH_TOKEN_TTL: duration.default(30 * 86_400_000),
  SESSION_CACHE_TTL: duration.default(60_000),
  READ_CACHE: bool.default(true),
  READ_CACHE_TTL: duration.default(60_000),
  PASSWORD_HASH_COST: int(10, 20).default(15),
  LOGIN_LIMIT_PER_ACCOUNT_IP: int(1, 100_000).default(10),
  LOGIN_LIMIT_PER_IP: int(1, 1_000_000).default(100),
  LOGIN_LIMIT_WINDOW: duration.default(900_000),
  LOGIN_LIMIT_PER_ACCOUNT: int(1, 1_000_000).default(100),
  LOGIN_LIMIT_ACCOUNT_WINDOW: duration.default(3_600_000),
  LOGIN_KNOWN_IP_TTL: duration.default(30 * 86_400_000),
  SIGNUP_LIMIT_PER_IP: int(1, 1_000_000).default(20),
  SIGNUP_LIMIT_WINDOW: duration.default(3_600_000),
  TRUST_PROXY: bool.default(false),
  CORS_ORIGINS: z.string().default(''),
  BODY_LIMIT: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  SHUTDOWN_TIMEOUT: duration.default(10_000),
  SHUTDOWN_IDLE_WAIT: duration.optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_PUBLIC_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_EMBEDDED: bool.optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  S3_BUCKET: z.string().default('unimal-media'),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  MEDIA_PUBLIC_URL: url(['http:', 'https:']).optional(),
  PHOTO_MAX_BYTES: int(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  PHOTO_MAX_PIXELS: int(1, 1_000_000_000).default(50_000_000),
  PHOTO_PROCESSING_CONCURRENCY: int(1, 64).optional(),
  PHOTO_ORPHAN_TTL: duration.default(24 * 3_600_000),
  PHOTO_UPLOAD_URL_TTL: duration.default(15 * 60_000),
  STORAGE_SWEEP_INTERVAL: duration.default(5_000),
  FANOUT_CHUNK_SIZE: int(10, 100_000).default(1000),
  // Authors with at least this many followers broadcast: one row per post, merged into
  // their followers' inboxes at read time (0: nobody broadcasts; 1: everybody does).
  FANOUT_BROADCAST_THRESHOLD: int(0, 1_000_000_000).default(10_000),
  STREAM_CLAIM_IDLE: duration.default(30_000),
  STREAM_CONSUMER_TIMEOUT: duration
    .refine((ms) => ms >= 200, 'must be at least 200ms (consumers refresh it every quarter)')
    .default(2_000),
  STREAM_MAX_DELIVERIES: int(1, 100).default(5),
  STREAM_HANDLE_TIMEOUT: duration
    .refine((ms) => ms >= 100, 'must be at least 100ms')
    .default(60_000),
  STREAM_BLOCK: duration.default(2_000),
  STREAM_MAINTENANCE_INTERVAL: duration
    .refine((ms) => ms >= 100, 'must be at least 100ms')
    .default(5_000),
  SOCKET_EVENTS_PER_SECOND: int(1, 10_000).default(10),
  SOCKET_SESSION_CHECK_INTERVAL: duration.default(30_000),
  HANDLE_COOLING_OFF: duration.default(30 * 86_400_000),
  // The one variable where empty is not "unset" (loadConfig keeps it): `MAP_TILE_URL=` turns
  // the tiles off, as the README says (the viewer then draws on a blank background).
  MAP_TILE_URL: z
    .string()
    .max(500)
    .transform((v) => (v.trim() === '' ? '' : v))
    .default('https://tile.openstreetmap.org/{z}/{x}/{y}.png'),
  MAP_TILE_ATTRIBUTION: z.string().max(500).default('© OpenStreetMap contributors'),
  DEMO_ACCOUNT: bool.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * The environment to the configuration: each variable checked on its own (EnvSchema), then
 * the rules between them, each issue on the variable to change, then the shape the code
 * reads. Its output is the configuration; only what depends on the port a node listens on
 * is left open, for resolveConfig.
 */
export const ConfigSchema = EnvSchema.superRefine((env, ctx) => {
  const issue = (variable: keyof typeof env, message: string) =>
    ctx.addIssue({ code: 'custom', path: [variable], message });
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    issue('JWT_SECRET', 'required when NODE_ENV=production');
  }
  // The demo account's password is published (README, the map's sign-in form): such an
  // account must never exist where real people sign in.
  if (env.NODE_ENV === 'production' && env.DEMO_ACCOUNT === true) {
    issue(
      'DEMO_ACCOUNT',
      'must not be true when NODE_ENV=production: the demo account has a published password',
    );
  }
  // The account-wide ceiling is a backstop above the per-(account, IP) limit: below it, one
  // address could lock the owner out everywhere, which the per-pair limit exists to prevent.
  if (env.LOGIN_LIMIT_PER_ACCOUNT < env.LOGIN_LIMIT_PER_ACCOUNT_IP) {
    issue(
      'LOGIN_LIMIT_PER_ACCOUNT',
      `must be at least LOGIN_LIMIT_PER_ACCOUNT_IP (${env.LOGIN_LIMIT_PER_ACCOUNT_IP}); got ${env.LOGIN_LIMIT_PER_ACCOUNT}`,
    );
  }
  // Photo URLs leave more than the server role (workers push posts to sockets), but only it
  // serves /media: any other node's own port would give clients dead links.
  if (!env.ROLES.includes('server') && !env.MEDIA_PUBLIC_URL) {
    issue('MEDIA_PUBLIC_URL', mediaUrlRequired(env.ROLES));
  }
}).transform((env) => {
  const dataDir = path.resolve(env.DATA_DIR);
  return {
    env: env.NODE_ENV,
    /** The port asked for; in a running node's config (resolveConfig), the one it listens on. */
    port: env.PORT,
    host: env.HOST,
    roles: env.ROLES,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    /** How long a starting node retries an unreachable PostgreSQL before giving up. */
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT,
    /** Create the database when it does not exist (default: everywhere but production). */
    databaseCreate: env.DATABASE_CREATE ?? env.NODE_ENV !== 'production',
    migrateOnStart: env.MIGRATE_ON_START,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    jwtSecret: new TextEncoder().encode(env.JWT_SECRET ?? localJwtSecret(dataDir)),
    accessTokenTtlMs: env.ACCESS_TOKEN_TTL,
    /** How long a node trusts a live session without asking PostgreSQL again (0: never). */
    sessionCacheTtlMs: env.SESSION_CACHE_TTL,
    /**
     * The Redis cache of hot reads (core/read-cache.ts): off with READ_CACHE=false or a
     * zero time to live; values live at most `ttlMs`.
     */
    readCache: { enabled: env.READ_CACHE, ttlMs: env.READ_CACHE_TTL },
    refreshTokenTtlMs: env.REFRESH_TOKEN_TTL,
    passwordHashCost: env.PASSWORD_HASH_COST,
    /** Login limits; see createAuthLimiters (domain/auth/rate-limit.ts). */
    loginLimit: {
      /** Failed logins per (account, client IP) within `windowMs`. */
      perAccountIp: env.LOGIN_LIMIT_PER_ACCOUNT_IP,
      /** Login attempts per client IP within `windowMs`. */
      perIp: env.LOGIN_LIMIT_PER_IP,
      windowMs: env.LOGIN_LIMIT_WINDOW,
      /** Failed logins per account from all IPs within `accountWindowMs`: the botnet backstop. */
      perAccount: env.LOGIN_LIMIT_PER_ACCOUNT,
      accountWindowMs: env.LOGIN_LIMIT_ACCOUNT_WINDOW,
      /** How long an IP that signed in to an account stays exempt from its backstop (0: never). */
      knownIpTtlMs: env.LOGIN_KNOWN_IP_TTL,
    },
    signupLimit: { perIp: env.SIGNUP_LIMIT_PER_IP, windowMs: env.SIGNUP_LIMIT_WINDOW },
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    bodyLimit: env.BODY_LIMIT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT,
    /**
     * How long a stopping node leaves idle keep-alive connections for the client (the
     * reverse proxy) to close, before closing them itself (0: at once). See node.ts.
     * Behind a proxy (production) its idle connections are left for it to close; a
     * developer's Ctrl-C should not wait on a browser's idle connection.
     */
    shutdownIdleWaitMs: Math.min(
      env.SHUTDOWN_IDLE_WAIT ?? (env.NODE_ENV === 'production' ? 5_000 : 0),
      env.SHUTDOWN_TIMEOUT,
    ),
    dataDir,
    s3: {
      /** Unset: AWS itself, or the embedded server when `embedded` is on. */
      endpoint: env.S3_ENDPOINT,
      /**
       * The endpoint presigned upload URLs point at, when clients reach S3 by another name.
       * Unset with the embedded store: the server role's own /storage route (resolveConfig).
       */
      publicEndpoint: env.S3_PUBLIC_ENDPOINT,
      /**
       * Start an in-process S3-compatible store (s3rver) keeping objects under DATA_DIR/s3.
       * It listens on no port; clients upload through the app's `/storage` route only.
       */
      embedded: env.S3_EMBEDDED ?? (!env.S3_ENDPOINT && env.NODE_ENV !== 'production'),
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      bucket: env.S3_BUCKET,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    },
    /**
     * Base URL of stored photo variants. Unset: the server role's own /media route on
     * localhost and the port the node listens on (resolveConfig); other roles must set it.
     */
    mediaPublicUrl: env.MEDIA_PUBLIC_URL?.replace(/\/+$/, ''),
    photos: {
      maxBytes: env.PHOTO_MAX_BYTES,
      maxPixels: env.PHOTO_MAX_PIXELS,
      concurrency: env.PHOTO_PROCESSING_CONCURRENCY ?? Math.max(1, availableParallelism()),
      orphanTtlMs: env.PHOTO_ORPHAN_TTL,
      uploadUrlTtlMs: env.PHOTO_UPLOAD_URL_TTL,
    },
    storageSweepIntervalMs: env.STORAGE_SWEEP_INTERVAL,
    streams: {
      /** Followers per fan-out chunk; larger fan-outs are split into chunks any consumer can take. */
      fanoutChunkSize: env.FANOUT_CHUNK_SIZE,
      broadcastThreshold: env.FANOUT_BROADCAST_THRESHOLD,
      /**
       * The longest wait between two retries of a failed message (they start at 1 s and
       * double), and how long a message a consumer holds but has lost track of (its
       * acknowledgement failed) stays pending before that consumer handles it again.
       */
      claimIdleMs: env.STREAM_CLAIM_IDLE,
      /**
       * How long a consumer whose heartbeat stopped is still taken for alive; past it, the
       * others take over what it had pending.
       */
      consumerTimeoutMs: env.STREAM_CONSUMER_TIMEOUT,
      /** Deliveries before a message goes to the dead-letter stream. */
      maxDeliveries: env.STREAM_MAX_DELIVERIES,
      /**
       * How long one handling of a message may take before it counts as failed and is
       * retried: a handler stuck on a connection nobody answers must not hold its
       * message, and the consumer's reads, for ever.
       */
      handleTimeoutMs: env.STREAM_HANDLE_TIMEOUT,
      blockMs: env.STREAM_BLOCK,
      /** How often streams are trimmed and consumed outbox rows deleted. */
      maintenanceIntervalMs: env.STREAM_MAINTENANCE_INTERVAL,
    },
    /** Per-socket rate of client events (bursts of twice this are allowed). */
    socketEventsPerSecond: env.SOCKET_EVENTS_PER_SECOND,
    /** How often a gateway node checks that its sockets' sessions are still live (0: never). */
    socketSessionCheckMs: env.SOCKET_SESSION_CHECK_INTERVAL,
    /** How long a deleted account's handle stays unavailable to new accounts. */
    handleCoolingOffMs: env.HANDLE_COOLING_OFF,
    /** Background tiles of the /map viewer (`{z}/{x}/{y}` template); empty for none. */
    mapTileUrl: env.MAP_TILE_URL,
    mapTileAttribution: env.MAP_TILE_ATTRIBUTION,
    /**
     * Seed the demo account and its sightings at start (server/demo-account.ts), so the
     * /map viewer has someone to sign in as: on by default in development only.
     */
    demoAccount: env.DEMO_ACCOUNT ?? env.NODE_ENV === 'development',
    logLevel: env.LOG_LEVEL,
  };
});

/**
 * Deeply read-only. The secret's bytes stay a Uint8Array (a typed array with contents
 * cannot be frozen), and lists keep their array type for libraries that take `string[]`
 * (hono's cors); both are frozen objects at run time all the same.
 */
type Frozen<T> = T extends Uint8Array | readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

type Parsed = z.output<typeof ConfigSchema>;

/** What loadConfig returns: valid and frozen, the values that depend on the node's port still open. */
export type ParsedConfig = Frozen<Parsed>;

/** The configuration a node runs with: ParsedConfig resolved for its port (resolveConfig). */
export type Config = Frozen<Omit<Parsed, 'mediaPublicUrl'> & { mediaPublicUrl: string }>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; a bad value throws a ConfigError naming the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): ParsedConfig {
  // Empty is unset, but for MAP_TILE_URL (see EnvSchema).
  const raw = Object.fromEntries(
    Object.entries(source).filter(
      ([name, v]) => v !== undefined && (v !== '' || name === 'MAP_TILE_URL'),
    ),
  );
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return deepFreeze(parsed.data);
}

/**
 * The final configuration of a node, once it knows the port it listens on (PORT=0 picks
 * one): a server role's default media and embedded-store URLs are its own routes on that
 * port. Built before anything reads the configuration, and frozen: no value changes after.
 * `port` defaults to the configured one, for a process that serves no HTTP of its own.
 */
export function resolveConfig(
  parsed: ParsedConfig,
  { port = parsed.port }: { port?: number } = {},
): Config {
  const serves = parsed.roles.includes('server');
  const own = (route: string) => `http://localhost:${port}${route}`;
  const mediaPublicUrl = parsed.mediaPublicUrl ?? (serves ? own('/media') : undefined);
  if (mediaPublicUrl === undefined) {
    throw new ConfigError(
      `invalid configuration:\n  MEDIA_PUBLIC_URL: ${mediaUrlRequired(parsed.roles)}`,
    );
  }
  return deepFreeze({
    ...parsed,
    port,
    mediaPublicUrl,
    s3: {
      ...parsed.s3,
      // Only the server role mounts /storage; other roles never presign an upload.
      publicEndpoint:
        parsed.s3.publicEndpoint ?? (parsed.s3.embedded && serves ? own('/storage') : undefined),
    },
  });
}

function mediaUrlRequired(roles: readonly Role[]): string {
  return `required when ROLES has no server (got ${roles.join(',')}): only the server role serves /media; set the public URL of the server nodes' /media route, as clients reach it`;
}

function deepFreeze<T>(value: T): Frozen<T> {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value as Frozen<T>;
}

/**
 * Outside production a secret is generated once and kept in the data folder,
 * so restarts keep sessions without anyone having to configure one.
 */
function localJwtSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // not there yet: generated below
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  // 'wx' fails if another process won the race; then read what it wrote.
  try {
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    return secret;
  } catch {
    return readFileSync(file, 'utf8').trim();
  }
}
