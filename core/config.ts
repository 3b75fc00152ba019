import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** The roles one process can play; `npm start` runs all of them on one port. */
export const ROLE_NAMES = ['server', 'gateway', 'workers'] as const;
export type Role = (typeof ROLE_NAMES)[number];

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Durations like `15m`, `30d`, `900s`, `250ms` or a bare number of seconds. */
const duration = z.string().transform((value, ctx) => {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 900, 15m, 12h or 30d' });
    return z.NEVER;
  }
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(m[1]) * factor;
});

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

/**
 * Every environment variable the process reads, with its local default.
 * The README's configuration table mirrors this schema.
 */
const envSchema = z.object({
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
  MAP_TILE_URL: z.string().max(500).default('https://tile.openstreetmap.org/{z}/{x}/{y}.png'),
  MAP_TILE_ATTRIBUTION: z.string().max(500).default('© OpenStreetMap contributors'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  roles: Role[];
  databaseUrl: string;
  databasePoolSize: number;
  /** How long a starting node retries an unreachable PostgreSQL before giving up. */
  databaseConnectTimeoutMs: number;
  /** Create the database when it does not exist (default: everywhere but production). */
  databaseCreate: boolean;
  migrateOnStart: boolean;
  redisUrl: string;
  redisPrefix: string;
  jwtSecret: Uint8Array;
  accessTokenTtlMs: number;
  /** How long a node trusts a live session without asking PostgreSQL again (0: never). */
  sessionCacheTtlMs: number;
  refreshTokenTtlMs: number;
  passwordHashCost: number;
  /** Login limits; see createAuthLimiters (domain/auth/rate-limit.ts). */
  loginLimit: {
    /** Failed logins per (account, client IP) within `windowMs`. */
    perAccountIp: number;
    /** Login attempts per client IP within `windowMs`. */
    perIp: number;
    windowMs: number;
    /** Failed logins per account from all IPs within `accountWindowMs`: the botnet backstop. */
    perAccount: number;
    accountWindowMs: number;
    /** How long an IP that signed in to an account stays exempt from its backstop (0: never). */
    knownIpTtlMs: number;
  };
  signupLimit: { perIp: number; windowMs: number };
  trustProxy: boolean;
  corsOrigins: string[];
  bodyLimit: number;
  shutdownTimeoutMs: number;
  /**
   * How long a stopping node leaves idle keep-alive connections for the client (the
   * reverse proxy) to close, before closing them itself (0: at once). See node.ts.
   */
  shutdownIdleWaitMs: number;
  dataDir: string;
  s3: {
    /** Unset: AWS itself, or the embedded server when `embedded` is on. */
    endpoint?: string;
    /** The endpoint presigned upload URLs point at, when clients reach S3 by another name. */
    publicEndpoint?: string;
    /**
     * Start an in-process S3-compatible store (s3rver) keeping objects under DATA_DIR/s3.
     * It listens on no port; clients upload through the app's `/storage` route only.
     */
    embedded: boolean;
    forcePathStyle: boolean;
    bucket: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
  /**
   * Base URL of stored photo variants. Unset: the server role's own /media route
   * on localhost and the port the process actually listens on (see node.ts).
   */
  mediaPublicUrl: string;
  mediaPublicUrlSet: boolean;
  photos: {
    maxBytes: number;
    maxPixels: number;
    concurrency: number;
    orphanTtlMs: number;
    uploadUrlTtlMs: number;
  };
  storageSweepIntervalMs: number;
  streams: {
    /** Followers per fan-out chunk; larger fan-outs are split into chunks any consumer can take. */
    fanoutChunkSize: number;
    /**
     * The longest wait between two retries of a failed message (they start at 1 s and
     * double), and how long a message a consumer holds but has lost track of (its
     * acknowledgement failed) stays pending before that consumer handles it again.
     */
    claimIdleMs: number;
    /**
     * How long a consumer whose heartbeat stopped is still taken for alive; past it, the
     * others take over what it had pending.
     */
    consumerTimeoutMs: number;
    /** Deliveries before a message goes to the dead-letter stream. */
    maxDeliveries: number;
    /**
     * How long one handling of a message may take before it counts as failed and is
     * retried: a handler stuck on a connection nobody answers must not hold its
     * message, and the consumer's reads, for ever.
     */
    handleTimeoutMs: number;
    blockMs: number;
    /** How often streams are trimmed and consumed outbox rows deleted. */
    maintenanceIntervalMs: number;
  };
  /** How long a deleted account's handle stays unavailable to new accounts. */
  handleCoolingOffMs: number;
  /** Per-socket rate of client events (bursts of twice this are allowed). */
  socketEventsPerSecond: number;
  /** How often a gateway node checks that its sockets' sessions are still live (0: never). */
  socketSessionCheckMs: number;
  /** Background tiles of the /map viewer (`{z}/{x}/{y}` template); empty for none. */
  mapTileUrl: string;
  mapTileAttribution: string;
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; a bad value throws a ConfigError naming the variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const raw = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    throw new ConfigError(
      'invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production',
    );
  }
  // The account-wide ceiling is a backstop above the per-(account, IP) limit: below it, one
  // address could lock the owner out everywhere, which the per-pair limit exists to prevent.
  if (env.LOGIN_LIMIT_PER_ACCOUNT < env.LOGIN_LIMIT_PER_ACCOUNT_IP) {
    throw new ConfigError(
      `invalid configuration:\n  LOGIN_LIMIT_PER_ACCOUNT: must be at least LOGIN_LIMIT_PER_ACCOUNT_IP (${env.LOGIN_LIMIT_PER_ACCOUNT_IP}); got ${env.LOGIN_LIMIT_PER_ACCOUNT}`,
    );
  }
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    roles: env.ROLES,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT,
    databaseCreate: env.DATABASE_CREATE ?? env.NODE_ENV !== 'production',
    migrateOnStart: env.MIGRATE_ON_START,
    redisUrl: env.REDIS_URL,
    redisPrefix: env.REDIS_PREFIX,
    jwtSecret: new TextEncoder().encode(env.JWT_SECRET ?? localJwtSecret(dataDir)),
    accessTokenTtlMs: env.ACCESS_TOKEN_TTL,
    sessionCacheTtlMs: env.SESSION_CACHE_TTL,
    refreshTokenTtlMs: env.REFRESH_TOKEN_TTL,
    passwordHashCost: env.PASSWORD_HASH_COST,
    loginLimit: {
      perAccountIp: env.LOGIN_LIMIT_PER_ACCOUNT_IP,
      perIp: env.LOGIN_LIMIT_PER_IP,
      windowMs: env.LOGIN_LIMIT_WINDOW,
      perAccount: env.LOGIN_LIMIT_PER_ACCOUNT,
      accountWindowMs: env.LOGIN_LIMIT_ACCOUNT_WINDOW,
      knownIpTtlMs: env.LOGIN_KNOWN_IP_TTL,
    },
    signupLimit: { perIp: env.SIGNUP_LIMIT_PER_IP, windowMs: env.SIGNUP_LIMIT_WINDOW },
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    bodyLimit: env.BODY_LIMIT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT,
    // Behind a proxy (production) its idle connections are left for it to close; a
    // developer's Ctrl-C should not wait on a browser's idle connection.
    shutdownIdleWaitMs: Math.min(
      env.SHUTDOWN_IDLE_WAIT ?? (env.NODE_ENV === 'production' ? 5_000 : 0),
      env.SHUTDOWN_TIMEOUT,
    ),
    dataDir,
    s3: {
      endpoint: env.S3_ENDPOINT,
      publicEndpoint: env.S3_PUBLIC_ENDPOINT,
      embedded: env.S3_EMBEDDED ?? (!env.S3_ENDPOINT && env.NODE_ENV !== 'production'),
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      bucket: env.S3_BUCKET,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    },
    mediaPublicUrl: (env.MEDIA_PUBLIC_URL ?? `http://localhost:${env.PORT}/media`).replace(
      /\/+$/,
      '',
    ),
    mediaPublicUrlSet: env.MEDIA_PUBLIC_URL !== undefined,
    photos: {
      maxBytes: env.PHOTO_MAX_BYTES,
      maxPixels: env.PHOTO_MAX_PIXELS,
      concurrency: env.PHOTO_PROCESSING_CONCURRENCY ?? Math.max(1, availableParallelism()),
      orphanTtlMs: env.PHOTO_ORPHAN_TTL,
      uploadUrlTtlMs: env.PHOTO_UPLOAD_URL_TTL,
    },
    storageSweepIntervalMs: env.STORAGE_SWEEP_INTERVAL,
    streams: {
      fanoutChunkSize: env.FANOUT_CHUNK_SIZE,
      claimIdleMs: env.STREAM_CLAIM_IDLE,
      consumerTimeoutMs: env.STREAM_CONSUMER_TIMEOUT,
      maxDeliveries: env.STREAM_MAX_DELIVERIES,
      handleTimeoutMs: env.STREAM_HANDLE_TIMEOUT,
      blockMs: env.STREAM_BLOCK,
      maintenanceIntervalMs: env.STREAM_MAINTENANCE_INTERVAL,
    },
    socketEventsPerSecond: env.SOCKET_EVENTS_PER_SECOND,
    socketSessionCheckMs: env.SOCKET_SESSION_CHECK_INTERVAL,
    handleCoolingOffMs: env.HANDLE_COOLING_OFF,
    // The one variable where empty is not "unset": `MAP_TILE_URL=` turns the tiles off, as
    // the README says (the viewer then draws on a blank background).
    mapTileUrl: source.MAP_TILE_URL?.trim() === '' ? '' : env.MAP_TILE_URL,
    mapTileAttribution: env.MAP_TILE_ATTRIBUTION,
    logLevel: env.LOG_LEVEL,
  };
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
