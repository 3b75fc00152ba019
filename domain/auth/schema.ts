import { z } from '@hono/zod-openapi';
import { PLAIN_TEXT_MESSAGE, plainText } from '../../core/text.ts';
import { displayNameSchema, handleSchema, MeSchema } from '../users/index.ts';

export const emailSchema = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase())
  .openapi({ example: 'ada@example.com' });

export const passwordSchema = z
  .string()
  .min(8, 'at least 8 characters')
  .max(256)
  .openapi({ example: 'correct horse battery staple' });

const refreshTokenSchema = z.string().min(1).max(200);

export const SignupBody = z
  .object({
    email: z.string().trim().pipe(emailSchema),
    password: passwordSchema,
    handle: handleSchema,
    displayName: displayNameSchema,
  })
  .openapi('SignupRequest');

export const LoginBody = z
  .object({
    email: z
      .string()
      .trim()
      .max(254)
      .regex(plainText(), PLAIN_TEXT_MESSAGE)
      .transform((e) => e.toLowerCase()),
    password: z.string().min(1).max(256),
  })
  .openapi('LoginRequest');

export const RefreshBody = z.object({ refreshToken: refreshTokenSchema }).openapi('RefreshRequest');
export const LogoutBody = z.object({ refreshToken: refreshTokenSchema }).openapi('LogoutRequest');

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().int().openapi({ description: 'seconds until the access token expires' }),
  })
  .openapi('TokenPair');

export const AuthResultSchema = TokenPairSchema.extend({ user: MeSchema }).openapi('AuthResult');
