/**
 * What other domains may use of the users domain: how a user is embedded in
 * their reads, the account's field rules and sign-in data (auth), and the
 * account's deletion.
 */

export { readProfile } from './profile-cache.ts';
export {
  findCredentials,
  findUserForLogin,
  insertUser,
  isHandleHeld,
  markDeleted,
  scrubAccount,
} from './queries.ts';
export { displayNameSchema, handleSchema, MeSchema } from './schema.ts';
export {
  type AuthorColumns,
  authorOf,
  embeddedUserColumns,
  toMe,
  toUser,
  USER_COLUMNS,
  type UserRow,
  userColumns,
} from './user-rows.ts';
