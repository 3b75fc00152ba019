// Reads a node process's own figures through its inspector (started with
// `--inspect=127.0.0.1:0`): memory after a full garbage collection and CPU time, the same
// way for a gateway node and for the bare baseline, with nothing added to either's code.
import WebSocket from 'ws';

export interface ProcessFigures {
  rss: number;
  heapUsed: number;
  /** User plus system CPU time so far, in seconds. */
  cpuSeconds: number;
}

/** The inspector's address from a process's stderr, once it has printed it. */
export async function inspectorUrl(stderr: () => string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = /Debugger listening on (ws:\/\/\S+)/.exec(stderr());
    if (found) return found[1]!;
    if (Date.now() > deadline) throw new Error(`no inspector address in: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function attachInspector(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    pending.delete(message.id ?? -1);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    /** Memory after two full collections (the second frees what the first's finalizers let go). */
    async figures(): Promise<ProcessFigures> {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      const result = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify({ m: process.memoryUsage(), c: process.cpuUsage() })',
        returnByValue: true,
      })) as { result: { value: string } };
      const { m, c } = JSON.parse(result.result.value) as {
        m: { rss: number; heapUsed: number };
        c: { user: number; system: number };
      };
      return { rss: m.rss, heapUsed: m.heapUsed, cpuSeconds: (c.user + c.system) / 1e6 };
    },
    /** CPU time only, without a collection (for idle CPU over an interval). */
    async cpuSeconds(): Promise<number> {
      const result = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.cpuUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      const c = JSON.parse(result.result.value) as { user: number; system: number };
      return (c.user + c.system) / 1e6;
    },
    close: () => ws.close(),
  };
}

export type Inspector = Awaited<ReturnType<typeof attachInspector>>;
