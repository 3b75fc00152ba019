import { z } from '@hono/zod-openapi';
import { MapCellCount, PostKind } from '../../contract/index.ts';
import { queryNumber } from '../../core/http/params.ts';
import type { Bbox } from './geo.ts';

/** `minLng,minLat,maxLng,maxLat`; minLng > maxLng means the box crosses the antimeridian. */
export const BboxParam = z
  .string()
  .max(200)
  .transform((value, ctx): Bbox => {
    const parts = value.split(',').map((p) => Number(p.trim()));
    const [minLng, minLat, maxLng, maxLat] = parts as [number, number, number, number];
    const ok =
      parts.length === 4 &&
      parts.every(Number.isFinite) &&
      Math.abs(minLng) <= 180 &&
      Math.abs(maxLng) <= 180 &&
      Math.abs(minLat) <= 90 &&
      Math.abs(maxLat) <= 90 &&
      minLat <= maxLat;
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected minLng,minLat,maxLng,maxLat with lng in [-180,180], lat in [-90,90], minLat ≤ maxLat',
      });
      return z.NEVER;
    }
    return { minLng, minLat, maxLng, maxLat };
  })
  .openapi({ type: 'string', example: '-9.25,38.68,-9.05,38.80' });

export const CellsQuery = z.object({
  bbox: BboxParam,
  zoom: queryNumber(z.number().min(0).max(24)),
  kind: PostKind.optional(),
});

export const CellsResponse = z
  .object({
    resolution: z.number().int(),
    cells: z.array(MapCellCount),
  })
  .openapi('MapCells');

/** `map:subscribe`: bbox as the same string, or as [minLng, minLat, maxLng, maxLat]. */
export const MapSubscribePayload = z
  .object({
    bbox: z
      .union([
        z.string().max(200),
        z
          .array(z.number())
          .length(4)
          .transform((a) => a.join(',')),
      ])
      .pipe(BboxParam),
    zoom: z.number().min(0).max(24),
    kind: PostKind.optional(),
  })
  .strict();
