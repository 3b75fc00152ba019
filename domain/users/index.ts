/**
 * What other domains may use of the users domain: how a user is embedded in
 * their reads. Everything else of it is for the roles.
 */

export { markDeleted, scrubAccount } from './queries.ts';
export {
  type AuthorColumns,
  authorOf,
  embeddedUserColumns,
  toUser,
  USER_COLUMNS,
  type UserRow,
  userColumns,
} from './user-rows.ts';
