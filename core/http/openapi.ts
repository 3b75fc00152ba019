import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { AppError, type ErrorCode } from '../errors.ts';
import type { AppEnv } from './types.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
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

/** OpenAPI response entries for the error statuses a route can answer. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: DESCRIPTIONS[s] ?? 'error',
        content: { 'application/json': { schema: ErrorSchema } },
      },
    ]),
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

export const bearerSecurity = [{ bearerAuth: [] }];
