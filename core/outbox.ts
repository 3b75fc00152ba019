import { DomainEvent } from './contract.ts';
import type { Sql, TxSql } from './db.ts';

/**
 * Records a domain event in the transactional outbox, in the same transaction
 * as the change it describes: the event exists if and only if the change
 * committed. A relay publishes outbox rows to Redis Streams.
 */
export async function recordEvent(tx: TxSql | Sql, event: DomainEvent): Promise<void> {
  // Parsing here keeps a malformed event from ever reaching a consumer.
  const parsed = DomainEvent.parse(event);
  await tx`insert into outbox (type, payload) values (${parsed.type}, ${tx.json(parsed)})`;
}
