import { z } from '@hono/zod-openapi';
import { BboxParam, MapCellCount, PostKind, SinceParam } from '../../contract/index.ts';
import { queryNumber } from '../../core/http/params.ts';

export const CellsQuery = z.object({
  bbox: BboxParam,
  zoom: queryNumber(z.number().min(0).max(24)),
  kind: PostKind.optional(),
  since: SinceParam.optional(),
});

export const CellsResponse = z
  .object({
    resolution: z.number().int(),
    cells: z.array(MapCellCount),
  })
  .openapi('MapCells');
