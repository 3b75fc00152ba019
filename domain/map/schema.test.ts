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
});
