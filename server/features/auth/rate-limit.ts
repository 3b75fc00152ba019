import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../../core/config.ts';
import { AppError } from '../../../core/errors.ts';
import type { Redis } from '../../../core/redis.ts';

/**
 * Login and signup limits, counted in Redis so they hold across every server
 * node. Per IP every attempt counts; per account only failed attempts count,
 * and a successful login clears them, so a user who mistypes twice is not
 * punished once they get in.
 */
export function createAuthLimiters(
  redis: Redis,
  config: Pick<Config, 'loginLimit' | 'signupLimit'>,
) {
  const common = { storeClient: redis, rejectIfRedisNotReady: true } as const;
  const loginIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:ip',
    points: config.loginLimit.perIp,
    duration: Math.ceil(config.loginLimit.windowMs / 1000),
  });
  const loginAccount = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:login:account',
    points: config.loginLimit.perAccount,
    duration: Math.ceil(config.loginLimit.windowMs / 1000),
  });
  const signupIp = new RateLimiterRedis({
    ...common,
    keyPrefix: 'rl:signup:ip',
    points: config.signupLimit.perIp,
    duration: Math.ceil(config.signupLimit.windowMs / 1000),
  });

  return {
    /** Counts a login attempt from this IP and refuses one for an account that failed too often. */
    async beforeLogin(ip: string, account: string): Promise<void> {
      await guard(() => loginIp.consume(ip));
      const failures = await guard(() => loginAccount.get(account));
      if (failures && failures.consumedPoints >= config.loginLimit.perAccount) {
        throw tooMany(failures.msBeforeNext, 'too many failed logins for this account');
      }
    },
    async loginFailed(account: string): Promise<void> {
      // Over the limit already is fine here: the next attempt is refused by beforeLogin.
      await guard(() => loginAccount.penalty(account, 1));
    },
    async loginSucceeded(account: string): Promise<void> {
      await guard(() => loginAccount.delete(account));
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
