/** What other domains may use of the auth domain: ending an account's sessions, and its deletion step. */
export { authDeletion } from './deletion.ts';
export { revokeAllSessions } from './queries.ts';
