/** What other domains may use of the board domain: its step of an account deletion. */
export { boardDeletion } from './deletion.ts';
