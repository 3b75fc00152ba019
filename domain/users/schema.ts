import { z } from '@hono/zod-openapi';
import { User } from '../../contract/index.ts';
import { PLAIN_TEXT_MESSAGE, plainText } from '../../core/text.ts';

/** Handle rules: 3–30 characters, a letter first, then letters, digits or `_`; case-insensitive. */
export const HANDLE_PATTERN = /^[a-z][a-z0-9_]{2,29}$/;

/** Handles that would read as the service itself or collide with routes. */
export const RESERVED_HANDLES = new Set([
  'admin',
  'administrator',
  'api',
  'help',
  'me',
  'moderator',
  'null',
  'root',
  'security',
  'support',
  'system',
  'unimal',
  'unknown',
  'undefined',
]);

export const handleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(HANDLE_PATTERN, '3–30 characters: a letter first, then letters, digits or underscores')
  .refine((h) => !RESERVED_HANDLES.has(h), 'this handle is reserved')
  .openapi({ example: 'catspotter' });

export const displayNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(plainText(), PLAIN_TEXT_MESSAGE)
  .openapi({ example: 'Cat Spotter' });

export const bioSchema = z
  .string()
  .trim()
  .max(300)
  // newlines are fine in a bio; other control characters are not
  .regex(plainText('\n'), PLAIN_TEXT_MESSAGE)
  .openapi({ example: 'I photograph the strays of my street.' });

/** A public profile: the contract's shape. */
export const UserSchema = User;

/** The signed-in user's own view: the public user plus private fields. */
export const MeSchema = UserSchema.extend({ email: z.string() }).openapi('Me');

export type Me = z.infer<typeof MeSchema>;

export const UpdateMeBody = z
  .strictObject({
    displayName: displayNameSchema.optional(),
    bio: bioSchema.optional(),
  })
  .openapi('UpdateMe');

export type { User };
