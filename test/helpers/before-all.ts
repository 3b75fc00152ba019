/**
 * What a helper's getters throw when read before its beforeAll hook ran: at the top level of
 * a test file or in a describe body, where the value does not exist yet.
 */
export function notReady(helper: string): never {
  throw new Error(
    `${helper} is set up in beforeAll: read it inside a test or a hook, not while the file is collected`,
  );
}
