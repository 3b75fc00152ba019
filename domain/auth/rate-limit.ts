import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../core/config.ts';
import { AppError } from '../../core/errors.ts';
import type { Redis } from '../../core/redis.ts';

/**
 * Login and signup limits, counted in Redis so they hold across every server
 * node. The login policy follows OWASP's Authentication and Credential Stuffing
 * cheat sheets: tight limits where the attacker is (per client IP, and per
 * account and IP), and only a far higher one per account alone, so a stranger
 * who knows an email cannot lock its owner out by guessing from elsewhere.
 *
 * - Per client IP, every attempt counts (`perIp` in `windowMs`): stops one
 *   address spraying passwords across many accounts.
 * - Per (account, client IP), password checks count (`perAccountIp` in
 *   `windowMs`): past it that pair is refused, even with the right password.
 *   A success from the pair clears its count, so a user who mistypes is not
 *   punished.
 * - Per account from all IPs, password checks count (`perAccount` in
 *   `accountWindowMs`): a backstop against a botnet guessing one account from
 *   many addresses. Past it the account is refused from every IP except those
 *   it signed in (or up) from in the last `knownIpTtlMs`, so the owner at home
 *   still gets in. A success gives its own point back but does not clear the
 *   count: the botnet keeps waiting.
 *
 * Every attempt is counted before its password is checked, atomically in
 * Redis, and only a success gives the points back. Counting after the check
 * instead would let a burst of parallel guesses all pass the limits while none
 * of them had been counted yet.
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

  // Gives back one point counted by `beforeLogin`, never going below zero nor creating a
  // counter that expired meanwhile (that would hand out a free attempt in the next window).
  const giveBack = (limiter: RateLimiterRedis, key: string) =>
    redis.eval(GIVE_BACK_SCRIPT, 1, limiter.getKey(key));

  /** The right password in a check like DELETE /me's: like a login's success, IP not remembered. */
  async function passwordAccepted(ip: string, account: string): Promise<void> {
    await guard(() =>
      Promise.all([loginAccountIp.delete(pair(ip, account)), giveBack(loginAccount, account)]),
    );
  }
  /** Remembers the IP as one the account signed in (or up) from, exempt from its ceiling. */
  async function rememberIp(ip: string, account: string): Promise<void> {
    if (knownIpSeconds <= 0) return;
    await guard(() => knownIp.set(pair(ip, account), 1, knownIpSeconds));
  }

  return {
    /**
     * Counts a login attempt (or another password check) before the password is checked:
     * one point for this IP, then for this (account, IP) pair, then for the account. Refuses
     * it with 429 when a count goes past its limit; past the account's, except from an IP
     * the account signed in from. Follow it with `loginSucceeded`, `passwordAccepted` or
     * `attemptAborted`; a wrong password needs nothing more, its points stay counted.
     */
    async beforeLogin(ip: string, account: string): Promise<void> {
      const key = pair(ip, account);
      await guard(() => loginIp.consume(ip));
      // A refused consume adds to the count too; harmless, the window does not grow.
      await guard(() => loginAccountIp.consume(key), ACCOUNT_REFUSED);
      try {
        await guard(() => loginAccount.consume(account), ACCOUNT_REFUSED);
      } catch (err) {
        const overCeiling =
          err instanceof AppError && err.code === 'rate_limited' && knownIpSeconds > 0;
        if (overCeiling && (await guard(() => knownIp.get(key))) !== null) return;
        // Refused before any password check: the pair gets its point back.
        await giveBack(loginAccountIp, key).catch(() => undefined);
        throw err;
      }
    },
    /**
     * The right password in a login: clears the pair's count, gives the account its point
     * back, and remembers the IP as one the account signs in from.
     */
    async loginSucceeded(ip: string, account: string): Promise<void> {
      await Promise.all([passwordAccepted(ip, account), rememberIp(ip, account)]);
    },
    passwordAccepted,
    /**
     * The attempt counted by `beforeLogin` ended before its password was checked (an
     * error): it gives its points back, so an outage does not lock anyone out.
     */
    async attemptAborted(ip: string, account: string): Promise<void> {
      await guard(() =>
        Promise.all([giveBack(loginAccountIp, pair(ip, account)), giveBack(loginAccount, account)]),
      );
    },
    /** After a signup: the owner was here, so this IP is exempt like one they signed in from. */
    rememberIp,
    async beforeSignup(ip: string): Promise<void> {
      await guard(() => signupIp.consume(ip));
    },
  };
}

export type AuthLimiters = ReturnType<typeof createAuthLimiters>;

const GIVE_BACK_SCRIPT = `local n = tonumber(redis.call('get', KEYS[1]))
if n and n > 0 then return redis.call('decr', KEYS[1]) end
return n or 0`;

function tooMany(msBeforeNext: number, message: string): AppError {
  return new AppError('rate_limited', message, {
    retryAfter: Math.max(1, Math.ceil(msBeforeNext / 1000)),
  });
}

const ACCOUNT_REFUSED = 'too many failed logins for this account';

async function guard<T>(op: () => Promise<T>, refused = 'too many attempts'): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof RateLimiterRes) throw tooMany(err.msBeforeNext, refused);
    if (err instanceof AppError) throw err;
    throw new AppError('unavailable', 'rate limiter unavailable, try again shortly', {
      retryAfter: 5,
      cause: err,
    });
  }
}
