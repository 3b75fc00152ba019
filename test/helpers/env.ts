/** Where the tests find PostgreSQL and Redis; override with TEST_DATABASE_URL / TEST_REDIS_URL. */
export const DATABASE_BASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const TEST_DB_PREFIX = 'unimal_test_';

export function databaseUrl(name: string): string {
  const url = new URL(DATABASE_BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export function adminUrl(): string {
  return databaseUrl('postgres');
}

/** The environment every test process starts from: fast hashing, quiet logs, a fixed secret. */
export function baseTestEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    PASSWORD_HASH_COST: '10',
    REDIS_URL,
    DATABASE_CREATE: 'false',
    MIGRATE_ON_START: 'false',
    // Generous limits: the rate-limit tests set their own, other tests sign many users up.
    SIGNUP_LIMIT_PER_IP: '100000',
    LOGIN_LIMIT_PER_IP: '100000',
  };
}
