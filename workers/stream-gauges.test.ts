import { describe, expect, it } from 'vitest';
import { nodeUrl, useInProcessNodes } from '../test/helpers/realtime.ts';
import { STREAM_WORKERS } from './index.ts';

// The consumer groups' lag and pending, as a workers node exports them at /metrics.
const nodes = useInProcessNodes();

const sample = (metrics: string, name: string, group: string) =>
  new RegExp(`^${name}\\{group="${group}"\\} (\\d+)$`, 'm').exec(metrics)?.[1];

describe('stream gauges', () => {
  it("export every consumer group's lag and pending entries, read from Redis at each scrape", async () => {
    const node = await nodes.start('workers');
    const scrape = async () => (await fetch(`${nodeUrl(node)}/metrics`)).text();
    // Every group exists once its consumer has started.
    await expect
      .poll(async () => {
        const metrics = await scrape();
        return STREAM_WORKERS.filter(
          (w) =>
            sample(metrics, 'stream_group_lag', w.group) === undefined ||
            sample(metrics, 'stream_group_pending', w.group) === undefined,
        ).map((w) => w.group);
      })
      .toEqual([]);
    const metrics = await scrape();
    expect(Number(sample(metrics, 'stream_group_pending', 'fanout'))).toBeGreaterThanOrEqual(0);
  });
});
