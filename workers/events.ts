import { DomainEvent, type StreamEvent } from '../contract/index.ts';
import type { StreamMessage } from './stream-worker.ts';

/** Reads an events-stream message; a malformed one throws (and ends in the dead-letter stream). */
export function parseStreamEvent(message: StreamMessage): StreamEvent {
  const { eventId, outboxId, event } = message.fields;
  if (!eventId || !event) throw new Error(`message ${message.id} is not an event`);
  return { eventId, outboxId: outboxId ?? '', event: DomainEvent.parse(JSON.parse(event)) };
}
