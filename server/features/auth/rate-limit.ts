import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../../core/config.ts';
import { AppError } from '../../../core/errors.ts';
import type { Redis } from '../../../core/redis.ts';

/**
 * Login and signup limits, counted in Redis so they hold across every server
 * node. The login policy follows OWASP's Authentication and Credential Stuffing
 * cheat sheets: tight limits where the attacker is (per client IP, and per
 * account and IP), and only a far higher one per account alone, so a stranger
 * who knows an email cannot lock its owner out by guessing from elsewhere.
 *
 * - Per client IP, every attempt counts (`perIp` in `windowMs`): stops one
 *   address spraying passwords across many accounts.
 * - Per (account, client IP), failures count (`perAccountIp` in `windowMs`):
 *   past it that pair is refused, even with the right password. A success
 *   from the pair clears its count, so a user who mistypes is not punished.
 * - Per account from all IPs, failures count (`perAccount` in
 *   `accountWindowMs`): a backstop against a botnet guessing one account from
 *   many addresses. Past it the account is refused from every IP except those
 *   it signed in from in the last `knownIpTtlMs`, so the owner at home still
 *   gets in. A success does not clear it: the botnet keeps waiting.
 *
 * Password checks outside login (DELETE /me) go through the same calls.
 */
export function createAuthLimiters(
  redis: Redis,
  config: Pick<Config, 'loginLimit' | 'signupLimit'>,
) {
  const common = { storeClient: redis, rejectIfRedisNotReady: true } as const;
  const { loginLimit } = config;
  const windowSeconds = Math.ceil(loginLimit.windowMs / 1000);
  const loginIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:ip',
    points: loginLimit.perIp,
    duration: windowSeconds,
  });
  const loginAccountIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:account-ip',
    points: loginLimit.perAccountIp,
    duration: windowSeconds,
  });
  const loginAccount = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:account',
    points: loginLimit.perAccount,
    duration: Math.ceil(loginLimit.accountWindowMs / 1000),
  });
  // Not a limit: a marker per (account, IP) that signed in, kept for knownIpTtlMs.
  const knownIpSeconds = Math.ceil(loginLimit.knownIpTtlMs / 1000);
  const knownIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:known-ip',
    points: 1,
    duration: Math.max(1, knownIpSeconds),
  });
  const signupIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:signup:ip',
    points: config.signupLimit.perIp,
    duration: Math.ceil(config.signupLimit.windowMs / 1000),
  });
  // Unambiguous whatever characters the email or the address carry.
  const pair = (ip: string, account: string) => JSON.stringify([account, ip]);

  return {
    /**
     * Counts a login attempt from this IP, then refuses it if this (account, IP) pair, or
     * the account from an IP it never signed in from, failed too often.
     */
    async beforeLogin(ip: string, account: string): Promise<void> {
      await guard(() => loginIp.consume(ip));
      const [pairFailures, accountFailures] = await guard(() =>
        Promise.all([loginAccountIp.get(pair(ip, account)), loginAccount.get(account)]),
      );
      if (pairFailures && pairFailures.consumedPoints >= loginLimit.perAccountIp) {
        throw tooMany(pairFailures.msBeforeNext, 'too many failed logins for this account');
      }
      if (accountFailures && accountFailures.consumedPoints >= loginLimit.perAccount) {
        const known =
          knownIpSeconds > 0 && (await guard(() => knownIp.get(pair(ip, account)))) !== null;
        if (!known) {
          throw tooMany(accountFailures.msBeforeNext, 'too many failed logins for this account');
        }
      }
    },
    /** A wrong password for the account from this IP (login, or a check like DELETE /me's). */
    async loginFailed(ip: string, account: string): Promise<void> {
      // Over a limit already is fine here: the next attempt is refused by beforeLogin.
      await guard(() =>
        Promise.all([
          loginAccountIp.penalty(pair(ip, account), 1),
          loginAccount.penalty(account, 1),
        ]),
      );
    },
    /** Clears the pair's failures and remembers the IP as one the account signs in from. */
    async loginSucceeded(ip: string, account: string): Promise<void> {
      await guard(() =>
        Promise.all([
          loginAccountIp.delete(pair(ip, account)),
          knownIpSeconds > 0 ? knownIp.set(pair(ip, account), 1, knownIpSeconds) : null,
        ]),
      );
    },
    async beforeSignup(ip: string): Promise<void> {
      await guard(() => signupIp.consume(ip));
    },
  };
}

export type AuthLimiters = ReturnType<typeof createAuthLimiters>;

function tooMany(msBeforeNext: number, message: string): AppError {
  return new AppError('rate_limited', message, {
    retryAfter: Math.max(1, Math.ceil(msBeforeNext / 1000)),
  });
}

async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof RateLimiterRes) throw tooMany(err.msBeforeNext, 'too many attempts');
    if (err instanceof AppError) throw err;
    throw new AppError('unavailable', 'rate limiter unavailable, try again shortly', {
      retryAfter: 5,
      cause: err,
    });
  }
}
