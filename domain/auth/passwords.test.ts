import { describe, expect, it } from 'vitest';
import { createDummyHash, hashPassword, verifyPassword } from './passwords.ts';

// The lowest cost scrypt allows: these tests are about the format, not the strength.
const COST = 4;

describe('password hashes', () => {
  it('carry their parameters and a fresh salt, and verify only the right password', async () => {
    const stored = await hashPassword('correct horse', COST);
    expect(stored).toMatch(/^scrypt\$4\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await hashPassword('correct horse', COST)).not.toBe(stored);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horse ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('verify with the cost stored in the hash, not the current one', async () => {
    const old = await hashPassword('pw', 5);
    expect(old.split('$')[1]).toBe('5');
    expect(await verifyPassword('pw', old)).toBe(true);
  });

  it('treat composed and decomposed accents as the same password', async () => {
    const stored = await hashPassword('caf\u00e9', COST);
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  it('refuse malformed stored strings instead of throwing', async () => {
    const stored = await hashPassword('pw', COST);
    const parts = stored.split('$');
    for (const bad of [
      '',
      'scrypt$x',
      `bcrypt$${parts.slice(1).join('$')}`,
      parts.slice(0, 5).join('$'),
      `${parts.slice(0, 5).join('$')}$${Buffer.from('short').toString('base64url')}`,
    ]) {
      expect(await verifyPassword('pw', bad), bad).toBe(false);
    }
  });

  it('make a dummy hash that nothing verifies against', async () => {
    const dummy = await createDummyHash(COST);
    expect(dummy.startsWith('scrypt$4$')).toBe(true);
    expect(await verifyPassword('', dummy)).toBe(false);
    expect(await verifyPassword('password', dummy)).toBe(false);
  });
});
