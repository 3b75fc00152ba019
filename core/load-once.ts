/**
 * A lazy loader that loads at its first call and hands every later caller the same
 * promise; a failed load is forgotten, so the next call tries again (a file being
 * replaced, a bundle that failed to build).
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}
