import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  type Config,
  ConfigError,
  ConfigSchema,
  loadConfig,
  type ParsedConfig,
  resolveConfig,
} from './config.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'unimal-config-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has local defaults that work on a fresh machine', () => {
    const config = loadConfig({ DATA_DIR: tempDir() });
    expect(config).toMatchObject({
      env: 'development',
      port: 3000,
      roles: ['server', 'gateway', 'workers'],
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/unimal',
      databaseCreate: true,
      redisUrl: 'redis://127.0.0.1:6379/0',
      accessTokenTtlMs: 900_000,
      refreshTokenTtlMs: 30 * 86_400_000,
      loginLimit: {
        perAccountIp: 10,
        perIp: 100,
        windowMs: 900_000,
        perAccount: 100,
        accountWindowMs: 3_600_000,
        knownIpTtlMs: 30 * 86_400_000,
      },
    });
  });

  it('parses durations, booleans and role lists', () => {
    const config = loadConfig({
      DATA_DIR: tempDir(),
      ACCESS_TOKEN_TTL: '5m',
      REFRESH_TOKEN_TTL: '2d',
      SHUTDOWN_TIMEOUT: '1500ms',
      LOGIN_LIMIT_WINDOW: '60',
      LOGIN_LIMIT_ACCOUNT_WINDOW: '2h',
      LOGIN_KNOWN_IP_TTL: '0',
      TRUST_PROXY: 'yes',
      ROLES: ' gateway , workers,gateway',
      MEDIA_PUBLIC_URL: 'https://edge.example/media',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(config.accessTokenTtlMs).toBe(300_000);
    expect(config.refreshTokenTtlMs).toBe(172_800_000);
    expect(config.shutdownTimeoutMs).toBe(1500);
    expect(config.loginLimit.windowMs).toBe(60_000);
    expect(config.loginLimit.accountWindowMs).toBe(7_200_000);
    expect(config.loginLimit.knownIpTtlMs).toBe(0);
    expect(config.trustProxy).toBe(true);
    expect(config.roles).toEqual(['gateway', 'workers']);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['ROLES', 'server,cron'],
    ['DATABASE_URL', 'mysql://localhost/unimal'],
    ['REDIS_URL', 'not a url'],
    ['ACCESS_TOKEN_TTL', 'soon'],
    ['TRUST_PROXY', 'maybe'],
    ['LOGIN_LIMIT_PER_ACCOUNT_IP', '0'],
    ['LOG_LEVEL', 'chatty'],
    ['JWT_SECRET', 'short'],
  ])('names the variable when %s=%s is invalid', (name, value) => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), [name]: value })).toThrowError(
      new RegExp(`^invalid configuration:\\n  ${name}: `),
    );
  });

  it('refuses a per-account login ceiling below the per-(account, IP) limit', () => {
    const dir = tempDir();
    expect(() =>
      loadConfig({ DATA_DIR: dir, LOGIN_LIMIT_PER_ACCOUNT: '5', LOGIN_LIMIT_PER_ACCOUNT_IP: '6' }),
    ).toThrowError(
      /^invalid configuration:\n {2}LOGIN_LIMIT_PER_ACCOUNT: must be at least LOGIN_LIMIT_PER_ACCOUNT_IP \(6\); got 5$/,
    );
    // Against the default per-(account, IP) limit of 10 too.
    expect(() => loadConfig({ DATA_DIR: dir, LOGIN_LIMIT_PER_ACCOUNT: '9' })).toThrow(ConfigError);
    // Equal is allowed.
    const config = loadConfig({
      DATA_DIR: dir,
      LOGIN_LIMIT_PER_ACCOUNT: '6',
      LOGIN_LIMIT_PER_ACCOUNT_IP: '6',
    });
    expect(config.loginLimit).toMatchObject({ perAccount: 6, perAccountIp: 6 });
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
    expect(config.databaseCreate).toBe(false);
  });

  it('seeds the demo account by default in development only', () => {
    const dir = tempDir();
    expect(loadConfig({ DATA_DIR: dir }).demoAccount).toBe(true);
    expect(loadConfig({ DATA_DIR: dir, NODE_ENV: 'development' }).demoAccount).toBe(true);
    expect(loadConfig({ DATA_DIR: dir, NODE_ENV: 'test' }).demoAccount).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).demoAccount).toBe(
      false,
    );
    // Booleans as everywhere else, either way round.
    expect(loadConfig({ DATA_DIR: dir, NODE_ENV: 'test', DEMO_ACCOUNT: 'yes' }).demoAccount).toBe(
      true,
    );
    expect(loadConfig({ DATA_DIR: dir, DEMO_ACCOUNT: '0' }).demoAccount).toBe(false);
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), DEMO_ACCOUNT: 'false' })
        .demoAccount,
    ).toBe(false);
    expect(() => loadConfig({ DATA_DIR: dir, DEMO_ACCOUNT: 'sure' })).toThrowError(
      /^invalid configuration:\n {2}DEMO_ACCOUNT: /,
    );
  });

  it('refuses DEMO_ACCOUNT=true in production: its password is published', () => {
    for (const value of ['true', '1', 'yes']) {
      expect(() =>
        loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), DEMO_ACCOUNT: value }),
      ).toThrowError(
        /^invalid configuration:\n {2}DEMO_ACCOUNT: must not be true when NODE_ENV=production: the demo account has a published password$/,
      );
    }
  });

  it('generates a local secret once and keeps it across restarts', () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(Buffer.from(first.jwtSecret).toString()).toBe(Buffer.from(second.jwtSecret).toString());
    expect(readFileSync(path.join(dir, 'jwt-secret'), 'utf8').trim().length).toBeGreaterThanOrEqual(
      32,
    );
    const other = loadConfig({ DATA_DIR: tempDir() });
    expect(Buffer.from(other.jwtSecret).toString()).not.toBe(
      Buffer.from(first.jwtSecret).toString(),
    );
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATA_DIR: tempDir(), PORT: '' }).port).toBe(3000);
  });

  it('turns the map tiles off with an explicitly empty MAP_TILE_URL, as the README says', () => {
    const dir = tempDir();
    expect(loadConfig({ DATA_DIR: dir }).mapTileUrl).toBe(
      'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
    );
    expect(loadConfig({ DATA_DIR: dir, MAP_TILE_URL: '' }).mapTileUrl).toBe('');
    expect(loadConfig({ DATA_DIR: dir, MAP_TILE_URL: '  ' }).mapTileUrl).toBe('');
    expect(
      loadConfig({ DATA_DIR: dir, MAP_TILE_URL: 'https://tiles.example/{z}/{x}/{y}.png' })
        .mapTileUrl,
    ).toBe('https://tiles.example/{z}/{x}/{y}.png');
  });

  it('bounds the wait for PostgreSQL at start with DATABASE_CONNECT_TIMEOUT', () => {
    const dir = tempDir();
    expect(loadConfig({ DATA_DIR: dir }).databaseConnectTimeoutMs).toBe(30_000);
    expect(
      loadConfig({ DATA_DIR: dir, DATABASE_CONNECT_TIMEOUT: '2s' }).databaseConnectTimeoutMs,
    ).toBe(2_000);
    expect(() => loadConfig({ DATA_DIR: dir, DATABASE_CONNECT_TIMEOUT: 'soon' })).toThrow(
      /DATABASE_CONNECT_TIMEOUT/,
    );
  });
});

describe('one schema, resolved once, frozen', () => {
  it('is the configuration: loadConfig returns what the schema outputs, and nothing is written twice', () => {
    const env = { DATA_DIR: tempDir(), ROLES: 'server', FANOUT_CHUNK_SIZE: '50' };
    const parsed = loadConfig(env);
    expect(parsed).toEqual(ConfigSchema.parse(env));
    expectTypeOf<ParsedConfig['streams']['fanoutChunkSize']>().toEqualTypeOf<
      z.output<typeof ConfigSchema>['streams']['fanoutChunkSize']
    >();
    // The running configuration is that output, only its port-dependent values resolved.
    const config = resolveConfig(parsed, { port: 4321 });
    expect(config).toEqual({
      ...ConfigSchema.parse(env),
      port: 4321,
      mediaPublicUrl: 'http://localhost:4321/media',
      s3: { ...parsed.s3, publicEndpoint: 'http://localhost:4321/storage' },
    });
    expectTypeOf<Omit<Config, 'mediaPublicUrl'>>().toEqualTypeOf<
      Omit<ParsedConfig, 'mediaPublicUrl'>
    >();
    expectTypeOf<Config['mediaPublicUrl']>().toEqualTypeOf<string>();
  });

  it('is frozen all the way down, parsed and resolved', () => {
    const parsed = loadConfig({ DATA_DIR: tempDir(), CORS_ORIGINS: 'https://a.example' });
    const config = resolveConfig(parsed, { port: 4321 });
    for (const c of [parsed, config]) {
      // ES modules run in strict mode: writing a frozen property throws.
      expect(() => {
        // @ts-expect-error the type is read-only too
        c.mediaPublicUrl = 'http://elsewhere.example/media';
      }).toThrow(TypeError);
      expect(() => {
        // @ts-expect-error
        c.s3.publicEndpoint = 'http://elsewhere.example/storage';
      }).toThrow(TypeError);
      expect(() => {
        // @ts-expect-error
        c.loginLimit.perIp = 1;
      }).toThrow(TypeError);
      expect(() => c.corsOrigins.push('https://evil.example')).toThrow(TypeError);
      expect(() => {
        (c as { extra?: number }).extra = 1;
      }).toThrow(TypeError);
    }
    expect(config.s3.publicEndpoint).toBe('http://localhost:4321/storage');
    expect(config.corsOrigins).toEqual(['https://a.example']);
  });

  it('gives the server role its own /media and /storage on the port it really listens on', () => {
    const parsed = loadConfig({ DATA_DIR: tempDir(), PORT: '0', ROLES: 'server,workers' });
    expect(parsed.mediaPublicUrl).toBeUndefined();
    const config = resolveConfig(parsed, { port: 45_678 });
    expect(config.port).toBe(45_678);
    expect(config.mediaPublicUrl).toBe('http://localhost:45678/media');
    expect(config.s3.publicEndpoint).toBe('http://localhost:45678/storage');
    // What is configured stays as configured, whatever the port.
    const set = resolveConfig(
      loadConfig({
        DATA_DIR: tempDir(),
        PORT: '0',
        MEDIA_PUBLIC_URL: 'https://cdn.example/media//',
        S3_PUBLIC_ENDPOINT: 'https://uploads.example',
      }),
      { port: 45_678 },
    );
    expect(set.mediaPublicUrl).toBe('https://cdn.example/media');
    expect(set.s3.publicEndpoint).toBe('https://uploads.example');
    // A process that does not listen (a CLI, a test's in-process app) keeps the configured port.
    expect(resolveConfig(loadConfig({ DATA_DIR: tempDir(), PORT: '8080' })).mediaPublicUrl).toBe(
      'http://localhost:8080/media',
    );
  });

  it.each(['workers', 'gateway', 'gateway,workers'])(
    'refuses ROLES=%s without MEDIA_PUBLIC_URL, naming the variable',
    (roles) => {
      expect(() => loadConfig({ DATA_DIR: tempDir(), ROLES: roles })).toThrowError(
        `invalid configuration:\n  MEDIA_PUBLIC_URL: required when ROLES has no server (got ${roles}): `,
      );
      const config = resolveConfig(
        loadConfig({
          DATA_DIR: tempDir(),
          ROLES: roles,
          MEDIA_PUBLIC_URL: 'http://edge.example/media',
        }),
        { port: 45_678 },
      );
      expect(config.mediaPublicUrl).toBe('http://edge.example/media');
      // It serves no /storage either: no presigned URL may point at it.
      expect(config.s3.embedded).toBe(true);
      expect(config.s3.publicEndpoint).toBeUndefined();
    },
  );

  it('refuses to resolve a configuration without a media URL for a node without the server role', () => {
    const parsed = loadConfig({
      DATA_DIR: tempDir(),
      ROLES: 'workers',
      MEDIA_PUBLIC_URL: 'http://a.example',
    });
    expect(() => resolveConfig({ ...parsed, mediaPublicUrl: undefined }, { port: 1 })).toThrowError(
      /^invalid configuration:\n {2}MEDIA_PUBLIC_URL: required when ROLES has no server/,
    );
  });
});
