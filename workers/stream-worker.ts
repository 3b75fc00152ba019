import type { Deps } from '../core/deps.ts';

export interface StreamMessage {
  id: string;
  fields: Record<string, string>;
  /**
   * 1 on first delivery; one more after each failure (a dependency outage excepted) and
   * each takeover from a dead consumer.
   */
  deliveries: number;
}

/**
 * One concern of the workers role: a consumer group on a stream. Declare it in
 * a file of its own; the consumer loop (consumer.ts) does the reading, acknowledging, claiming
 * and dead-lettering.
 */
export interface StreamWorker {
  /** The consumer group's name. */
  group: string;
  stream: string;
  /** Messages per read (default 32) and how many are handled at once (default 4). */
  batch?: number;
  concurrency?: number;
  /**
   * Must be idempotent: a message can be delivered more than once. Throwing retries it
   * later on the same consumer; past STREAM_MAX_DELIVERIES it goes to the dead-letter
   * stream, unless the error is a dependency outage (`unavailable`), retried as long as it lasts.
   */
  handle(message: StreamMessage, deps: Deps): Promise<void>;
}
