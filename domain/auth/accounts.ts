import { sessionRoom, userRoom } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';
import type { Deps } from '../../core/deps.ts';
import { AppError, conflict, unauthorized } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import {
  findCredentials,
  findUserForLogin,
  insertUser,
  isHandleHeld,
  toMe,
} from '../users/index.ts';
import { createDummyHash, hashPassword, verifyPassword } from './passwords.ts';
import {
  insertSession,
  revokeSessionByToken,
  rotateRefreshToken,
  type SessionMeta,
} from './queries.ts';
import { createAuthLimiters } from './rate-limit.ts';
import type { SignupBody } from './schema.ts';
import { hashRefreshToken, newRefreshToken, signAccessToken } from './tokens.ts';

/** Where a request comes from: the client's address (for the login limits) and its session's metadata. */
export interface Origin {
  ip: string;
  meta: SessionMeta;
  log: Logger;
}

/**
 * Signing up, in and out, and keeping a session going: each step checks the login
 * limits (rate-limit.ts) and says what happened in `auth_events_total`. Revoking a
 * session reaches every node (their session caches) and closes its sockets on
 * whichever gateway node holds them.
 */
export function createAccounts(
  deps: Pick<Deps, 'config' | 'sql' | 'redis' | 'metrics' | 'sessions' | 'emitter'>,
) {
  const { config, sql, metrics } = deps;
  const limiters = createAuthLimiters(deps.redis, config);
  // Built lazily once, then reused: verifying against it equalises login timing.
  let dummy: Promise<string> | undefined;
  const dummyHash = () => {
    dummy ??= createDummyHash(config.passwordHashCost);
    return dummy;
  };

  const issueTokens = async (userId: string, sessionId: string, refreshToken: string) => ({
    accessToken: await signAccessToken(
      { userId, sessionId },
      config.jwtSecret,
      config.accessTokenTtlMs,
    ),
    refreshToken,
    expiresIn: Math.round(config.accessTokenTtlMs / 1000),
  });

  const openSession = async (db: Sql | TxSql, userId: string, meta: SessionMeta) => {
    const refresh = newRefreshToken();
    const sessionId = await insertSession(db, {
      userId,
      tokenHash: refresh.hash,
      ttlMs: config.refreshTokenTtlMs,
      meta,
    });
    return { sessionId, refreshToken: refresh.token };
  };

  const endSession = async (sessionId: string) => {
    await deps.sessions.revoked({ sessionIds: [sessionId] });
    deps.emitter.in(sessionRoom(sessionId)).disconnectSockets(true);
  };

  return {
    /** A new account with its first session. */
    async signUp(input: typeof SignupBody._output, from: Origin) {
      await limiters.beforeSignup(from.ip);
      if (await isHandleHeld(sql, input.handle))
        throw conflict('this handle belonged to a deleted account and is not available yet', {
          field: 'handle',
        });
      const passwordHash = await hashPassword(input.password, config.passwordHashCost);
      let created: {
        user: Awaited<ReturnType<typeof insertUser>>;
        sessionId: string;
        refreshToken: string;
      };
      try {
        created = await sql.begin(async (tx) => {
          const user = await insertUser(tx, { ...input, passwordHash });
          return { user, ...(await openSession(tx, user.id, from.meta)) };
        });
      } catch (err) {
        const constraint = (err as { constraint_name?: string }).constraint_name;
        if (constraint === 'users_email_key') {
          throw conflict('an account with this email already exists', { field: 'email' });
        }
        if (constraint === 'users_handle_key') {
          throw conflict('this handle is taken', { field: 'handle' });
        }
        throw err;
      }
      metrics.authEvents.inc({ event: 'signup' });
      // The owner was here: this IP is exempt from the account's backstop limit, like one it
      // signed in from. Best effort, the account exists either way.
      await limiters.rememberIp(from.ip, input.email).catch((err: unknown) => {
        from.log.warn({ err }, 'could not remember the signup IP for login limits');
      });
      const { user, sessionId, refreshToken } = created;
      return { user: toMe(user), ...(await issueTokens(user.id, sessionId, refreshToken)) };
    },

    /** A new session for the right email and password. */
    async logIn(credentials: { email: string; password: string }, from: Origin) {
      const { email, password } = credentials;
      // Counted before the password is checked, so parallel guesses cannot outrun the limits.
      await limiters.beforeLogin(from.ip, email);
      let user: Awaited<ReturnType<typeof findUserForLogin>>;
      let ok: boolean;
      try {
        user = await findUserForLogin(sql, email);
        // Unknown email: spend the same time as a wrong password, then fail the same way.
        ok = user
          ? await verifyPassword(password, user.passwordHash)
          : await verifyPassword(password, await dummyHash()).then(() => false);
      } catch (err) {
        // No password was checked (the database failed, say): the attempt is not held against anyone.
        await limiters.attemptAborted(from.ip, email).catch(() => undefined);
        throw err;
      }
      if (!user || !ok) {
        // A wrong password keeps the points beforeLogin counted.
        metrics.authEvents.inc({ event: 'login_failed' });
        throw unauthorized('wrong email or password');
      }
      await limiters.loginSucceeded(from.ip, email);
      const { sessionId, refreshToken } = await openSession(sql, user.id, from.meta);
      metrics.authEvents.inc({ event: 'login' });
      return { user: toMe(user), ...(await issueTokens(user.id, sessionId, refreshToken)) };
    },

    /**
     * A fresh token pair for a refresh token, which is spent. A spent one presented again
     * means it was stolen: its whole session is revoked.
     */
    async refresh(refreshToken: string, log: Logger) {
      const next = newRefreshToken();
      const result = await rotateRefreshToken(sql, {
        tokenHash: hashRefreshToken(refreshToken),
        nextHash: next.hash,
        ttlMs: config.refreshTokenTtlMs,
      });
      if (!result.ok) {
        metrics.authEvents.inc({
          event: result.reason === 'reuse' ? 'refresh_reuse' : 'refresh_failed',
        });
        if (result.reason === 'reuse') {
          log.warn({ reason: 'reuse' }, 'spent refresh token presented; session revoked');
          await endSession(result.sessionId);
        }
        throw new AppError(
          'unauthorized',
          result.reason === 'reuse'
            ? 'refresh token already used; the session has been revoked'
            : result.reason === 'expired'
              ? 'refresh token expired'
              : 'invalid refresh token',
        );
      }
      metrics.authEvents.inc({ event: 'refresh' });
      return issueTokens(result.userId, result.sessionId, next.token);
    },

    /** Ends the refresh token's session, everywhere; an unknown token changes nothing. */
    async logOut(refreshToken: string) {
      const sessionId = await revokeSessionByToken(sql, hashRefreshToken(refreshToken));
      if (sessionId) await endSession(sessionId);
    },

    /**
     * The account's password, checked again before something that cannot be undone, and
     * counted against the login limits like a login: a stolen access token must not become
     * a way around them to guess the password.
     */
    async confirmPassword(userId: string, password: string, from: Omit<Origin, 'meta'>) {
      const row = await findCredentials(sql, userId);
      if (!row) throw unauthorized('account no longer exists');
      // Counted before the check, so parallel guesses cannot outrun the limits.
      await limiters.beforeLogin(from.ip, row.email);
      const ok = await verifyPassword(password, row.passwordHash).catch(async (err: unknown) => {
        await limiters.attemptAborted(from.ip, row.email).catch(() => undefined);
        throw err;
      });
      // A wrong password keeps the points beforeLogin counted.
      if (!ok) throw unauthorized('wrong password');
      // Best effort: only gives the account its point back; what follows goes ahead either way.
      await limiters.passwordAccepted(from.ip, row.email).catch((err: unknown) => {
        from.log.warn({ err }, 'could not give a login-limit point back');
      });
      return { handle: row.handle };
    },

    /** Every session of the account ends, everywhere (its deletion). */
    async endAllSessions(userId: string) {
      await deps.sessions.revoked({ userId });
      deps.emitter.in(userRoom(userId)).disconnectSockets(true);
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
