/** What every domain uses of the events domain: recording its changes (the outbox) and the shape of its deletion step. */
export type { DeletionStep } from './deletion-step.ts';
export { recordEvent, recordEventIf } from './outbox.ts';
