import { describe, expect, it } from 'vitest';
import { CellsQuery } from './schema.ts';

describe('CellsQuery', () => {
  it('reads the zoom from the query string, within 0..24', () => {
    expect(CellsQuery.parse({ bbox: '0,0,1,1', zoom: '12' }).zoom).toBe(12);
    for (const zoom of ['-1', '25', 'far', null]) {
      expect(CellsQuery.safeParse({ bbox: '0,0,1,1', zoom }).success, String(zoom)).toBe(false);
    }
    expect(CellsQuery.safeParse({ bbox: '0,0,1,1', zoom: '3', kind: 'dragon' }).success).toBe(
      false,
    );
  });

  it('reads since as an instant: a datetime with its offset, nothing else', () => {
    const at = (since: string) => CellsQuery.parse({ bbox: '0,0,1,1', zoom: '3', since }).since;
    expect(at('2025-06-01T00:00:00Z')).toEqual(new Date('2025-06-01T00:00:00.000Z'));
    expect(at('2025-06-01T02:00:00.5+02:00')).toEqual(new Date('2025-06-01T00:00:00.500Z'));
    expect(CellsQuery.parse({ bbox: '0,0,1,1', zoom: '3' }).since).toBeUndefined();
    for (const since of [
      'yesterday',
      '2025-06-01',
      '2025-06-01T00:00:00',
      // A "+" a query string decoded as a space.
      '2025-06-01T00:00:00 02:00',
      '2025-02-30T00:00:00Z',
      '',
    ]) {
      const parsed = CellsQuery.safeParse({ bbox: '0,0,1,1', zoom: '3', since });
      expect(parsed.success, since).toBe(false);
      expect(parsed.error?.issues[0]?.path, since).toEqual(['since']);
    }
  });

  it('moves instants PostgreSQL cannot hold to the nearest it can, which select the same', () => {
    const at = (since: string) =>
      CellsQuery.parse({ bbox: '0,0,1,1', zoom: '3', since }).since!.toISOString();
    expect(at('0000-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(at('9999-12-31T23:59:59-12:00')).toBe('9999-12-31T23:59:59.999Z');
  });
});
