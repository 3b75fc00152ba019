import type postgres from 'postgres';
import { DomainEvent } from '../../contract/index.ts';
import type { Sql, TxSql } from '../../core/db.ts';

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

/**
 * The same, recorded only when `condition` (an SQL boolean) holds when the
 * statement runs: lets an event be pipelined behind the change it depends on.
 */
export function recordEventIf(
  tx: TxSql | Sql,
  event: DomainEvent,
  condition: postgres.PendingQuery<postgres.Row[]>,
): postgres.PendingQuery<postgres.Row[]> {
  const parsed = DomainEvent.parse(event);
  return tx`insert into outbox (type, payload) select ${parsed.type}, ${tx.json(parsed)} where ${condition}`;
}
