import DataLoader from 'dataloader';

/**
 * Gathers the calls made at about the same time (in one turn of the event loop,
 * up to `maxBatchSize`) into one run of `run`, and hands each caller its own
 * result: a worker whose messages the consumer handles concurrently does the
 * work of one read's messages together (a few statements instead of a few per
 * message), and the session lookups of a crowd of handshakes are one query.
 *
 * DataLoader does exactly this coalescing and is kept by the GraphQL
 * foundation; its cache is off (each message is new work, and a redelivered
 * one must run again) and it flushes on setImmediate rather than its default
 * microtask, so that every handle() the consumer starts for one read, each a
 * few promise turns in, joins the same batch. A rejected run rejects every
 * call of it; an Error in a caller's slot fails that caller alone.
 *
 * One loader per deps object, kept beside it in a WeakMap: workers are plain
 * objects shared by every consumer in a process (and by test files, each with
 * deps of its own), so the batch belongs to the deps, never to the module, and
 * goes when the deps go.
 */
export function batchedPer<Owner extends object, K, V>(options: {
  maxBatchSize: number;
  run(owner: Owner, keys: readonly K[]): Promise<ReadonlyArray<V | Error>>;
}): (owner: Owner, key: K) => Promise<V> {
  const loaders = new WeakMap<Owner, DataLoader<K, V>>();
  return (owner, key) => {
    let loader = loaders.get(owner);
    if (!loader) {
      loader = new DataLoader<K, V>((keys) => options.run(owner, keys), {
        cache: false,
        maxBatchSize: options.maxBatchSize,
        batchScheduleFn: (dispatch) => setImmediate(dispatch),
      });
      loaders.set(owner, loader);
    }
    return loader.load(key);
  };
}
