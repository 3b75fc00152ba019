// Figures of bench-throughput.ts: deliveries matched to the moment their post was answered
// (or their bare message emitted), latency quantiles, missing and duplicate deliveries.
import type { FleetReport } from './fleet.ts';
import { log, quantile, sorted } from './harness.ts';

/** One message sent: its key (post id or bare id), when it started, and when it was answered. */
export interface Sent {
  key: string;
  startedAt: number;
  /** The POST's response, or the bare emit: delivery latency counts from here. */
  answeredAt: number;
  /** How many sockets should receive it. */
  expected: number;
}

export interface RoundFigures {
  deliveries: number;
  missing: number;
  duplicates: number;
  /** Deliveries per second, from the first message's start to the last arrival. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  /** When the slowest POST was answered, from the burst's start (0 for bare emits). */
  lastAnswer: number;
  latencies: Array<{ at: number; latency: number }>;
}

export function figuresOf(sent: Sent[], report: FleetReport): RoundFigures {
  const latencies: Array<{ at: number; latency: number }> = [];
  let missing = 0;
  let last = 0;
  for (const s of sent) {
    const arrivals = report.arrivals[s.key] ?? [];
    missing += Math.max(0, s.expected - arrivals.length);
    for (const at of arrivals) {
      latencies.push({ at, latency: at - s.answeredAt });
      if (at > last) last = at;
    }
  }
  const first = Math.min(...sent.map((s) => s.startedAt));
  const values = sorted(latencies.map((l) => l.latency));
  return {
    deliveries: latencies.length,
    missing,
    duplicates: report.duplicates,
    rate: latencies.length / ((last - first) / 1000),
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
    max: values.at(-1) ?? Number.NaN,
    lastAnswer: Math.max(...sent.map((s) => s.answeredAt)) - first,
    latencies,
  };
}

/** Per-window p99 of delivery latency over a sustained run: bounded, or growing? */
export function windows(figures: RoundFigures, startedAt: number, seconds: number) {
  const buckets = new Map<number, number[]>();
  for (const { at, latency } of figures.latencies) {
    const w = Math.floor((at - startedAt) / 1000 / seconds);
    let bucket = buckets.get(w);
    if (!bucket) {
      bucket = [];
      buckets.set(w, bucket);
    }
    bucket.push(latency);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([w, values]) => {
      const s = sorted(values);
      return { from: w * seconds, count: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
    });
}

export const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)] ?? Number.NaN;
export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';

export function printTable(header: string[], rows: string[][]) {
  log(`| ${header.join(' | ')} |`);
  log(`| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of rows) log(`| ${row.join(' | ')} |`);
}
