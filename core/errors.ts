/**
 * The one error type of the project. `code` is stable and part of the public
 * contract; `status` is the HTTP status; `report` says whether it is worth
 * logging as a fault (bad input is not, a broken dependency is).
 */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** The HTTP status of each code; no two codes share one, so a status names its code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = STATUS;

export interface AppErrorOptions {
  details?: unknown;
  /** Seconds, sent as `Retry-After` (429 and 503). */
  retryAfter?: number;
  cause?: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly retryAfter: number | undefined;
  readonly report: boolean;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details;
    this.retryAfter = options.retryAfter;
    this.report = this.status >= 500;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export const notFound = (what = 'resource') => new AppError('not_found', `${what} not found`);
export const unauthorized = (message = 'authentication required') =>
  new AppError('unauthorized', message);
export const forbidden = (message = 'not allowed') => new AppError('forbidden', message);
export const conflict = (message: string, details?: unknown) =>
  new AppError('conflict', message, { details });

/** Error codes of postgres.js and of PostgreSQL that mean "the database is not there". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** A request whose body never arrived whole: 400, never a fault of ours (no error log, no 5xx). */
export const clientAbort = (cause?: unknown) =>
  new AppError(
    'validation_failed',
    'the request body did not arrive whole (broken framing, or the client went away)',
    { cause },
  );

/**
 * Maps an unknown thrown value to an AppError: our own errors pass through, a
 * dependency that cannot be reached becomes 503 `unavailable`, anything else 500.
 * (A client that broke off its request is told apart by the HTTP layer from the
 * request's own state: the same `aborted` error also comes from a storage server
 * that resets a response, which is a dependency failing.)
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  if (
    (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) ||
    /Connection is closed|enableOfflineQueue|Stream isn't writeable|max retries per request/i.test(
      message,
    )
  ) {
    return new AppError('unavailable', 'a dependency is unavailable, try again shortly', {
      retryAfter: 5,
      cause: err,
    });
  }
  return new AppError('internal', 'internal error', { cause: err });
}
