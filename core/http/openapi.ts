import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.ts';
import { requireAuth } from './auth.ts';
import type { AppEnv } from './types.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({
        description: `stable and machine-readable, one per status: ${Object.keys(ERROR_STATUS).join(', ')}`,
      }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

const DESCRIPTIONS: Partial<Record<ErrorCode, string>> & Record<number, string> = {
  400: 'validation_failed: the request is malformed; details name the fields',
  401: 'unauthorized: missing, invalid or expired credentials',
  403: 'forbidden: authenticated but not allowed',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited: see the Retry-After header',
  503: 'unavailable: a dependency is down; retry later',
};

/** The code each status answers with (the inverse of the contract's code → status). */
const CODE_OF_STATUS = new Map(
  Object.entries(ERROR_STATUS).map(([code, status]) => [status, code as ErrorCode]),
);

/** An example body for each code, as the server words it. */
const EXAMPLES: Record<ErrorCode, { message: string; details?: unknown }> = {
  validation_failed: {
    message: 'displayName: must not contain control characters or bidirectional overrides',
    details: {
      in: 'json',
      fields: [
        {
          field: 'displayName',
          message: 'must not contain control characters or bidirectional overrides',
        },
      ],
    },
  },
  unauthorized: { message: 'authentication required' },
  forbidden: { message: 'not allowed' },
  not_found: { message: 'post not found' },
  conflict: { message: 'this handle is taken', details: { field: 'handle' } },
  payload_too_large: { message: 'request body too large' },
  unsupported_media_type: { message: 'unsupported content type: send application/json' },
  rate_limited: { message: 'too many attempts' },
  unavailable: { message: 'a dependency is unavailable, try again shortly' },
  internal: { message: 'internal error' },
};

/**
 * OpenAPI response entries for the error statuses a route can answer, each with an
 * example of its own code (the shared Error schema cannot carry one per status).
 */
/** A required JSON request body validated by `schema` (a route's `request.body`). */
export const jsonBody = <T>(schema: T) => ({
  content: { 'application/json': { schema } },
  required: true,
});

export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => {
      const code = CODE_OF_STATUS.get(s);
      if (!code) throw new Error(`no error code answers with status ${s}`);
      return [
        s,
        {
          description: DESCRIPTIONS[s] ?? 'error',
          content: {
            'application/json': {
              schema: ErrorSchema,
              example: { error: { code, ...EXAMPLES[code] } },
            },
          },
        },
      ];
    }),
  );
}

export function validationError(error: ZodError, target?: string): AppError {
  const fields = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.join('.') : (target ?? 'body'),
    message: issue.message,
  }));
  const first = fields[0];
  return new AppError(
    'validation_failed',
    first ? `${first.field}: ${first.message}` : 'invalid request',
    { details: { in: target, fields } },
  );
}

/** A router whose validation failures become the contract's 400 `validation_failed`. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error as ZodError, result.target);
    },
  });
}

const bearerSecurity = [{ bearerAuth: [] }];

/**
 * A route for signed-in callers only. The one place a route's protection is declared:
 * it puts `security` in the document and the middleware that enforces it on the route,
 * so the two cannot disagree. Handlers behind it read the caller with `c.get('auth')`.
 */
export function authedRoute<
  P extends string,
  R extends Omit<RouteConfig, 'path' | 'security' | 'middleware'> & { path: P },
>(config: R & { security?: never; middleware?: never }) {
  return createRoute({ ...config, security: bearerSecurity, middleware: requireAuth });
}
