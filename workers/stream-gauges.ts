import { Gauge } from 'prom-client';
import type { Deps } from '../core/deps.ts';
import type { StreamWorker } from './stream-worker.ts';

/**
 * Each consumer group's lag (entries not yet read by the group) and pending entries (read,
 * not yet acknowledged), read from Redis (`XINFO GROUPS`) when /metrics is scraped, so a
 * dashboard sees a group falling behind before anyone waits on it. A scrape while Redis is
 * away leaves the last values and never fails the page.
 */
export function registerStreamGauges(
  deps: Pick<Deps, 'redis' | 'metrics' | 'config' | 'logger'>,
  workers: readonly StreamWorker[],
): void {
  const { registry } = deps.metrics;
  // One registry per process: a second workers role on the same deps registers nothing new.
  if (registry.getSingleMetric('stream_group_lag')) return;
  const streams = [...new Set(workers.map((w) => w.stream))];
  const groups = new Set(workers.map((w) => w.group));

  /** group → lag and pending, over every stream this role consumes. */
  const read = async () => {
    const out = new Map<string, { lag: number | null; pending: number }>();
    for (const stream of streams) {
      // XINFO's key is not prefixed by ioredis (it follows the subcommand).
      const key = `${deps.config.redisPrefix}${stream}`;
      const rows = (await deps.redis.xinfo('GROUPS', key)) as unknown[][];
      for (const row of rows) {
        const field = (name: string) => row[row.indexOf(name) + 1];
        const name = String(field('name'));
        if (!groups.has(name)) continue;
        const lag = field('lag');
        out.set(name, {
          lag: typeof lag === 'number' ? lag : null,
          pending: Number(field('pending')),
        });
      }
    }
    return out;
  };
  const collectInto = (pick: (g: { lag: number | null; pending: number }) => number | null) =>
    async function collect(this: Gauge<'group'>) {
      try {
        for (const [group, values] of await read()) {
          const value = pick(values);
          if (value !== null) this.set({ group }, value);
        }
      } catch (err) {
        deps.logger.debug({ err: (err as Error).message }, 'stream gauges: redis unavailable');
      }
    };

  new Gauge({
    name: 'stream_group_lag',
    help: 'Entries of the stream its consumer group has not read yet, by group (XINFO GROUPS lag)',
    labelNames: ['group'] as const,
    registers: [registry],
    collect: collectInto((g) => g.lag),
  });
  new Gauge({
    name: 'stream_group_pending',
    help: 'Entries a consumer group has read and not yet acknowledged, by group',
    labelNames: ['group'] as const,
    registers: [registry],
    collect: collectInto((g) => g.pending),
  });
}
