import { z } from '@hono/zod-openapi';
import { Photo } from '../../contract/index.ts';
import { type VariantName, variantKey } from './processing.ts';

/** A processed photo as clients see it: the contract's shape. */
export const PhotoSchema = Photo;

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

export const CreateUploadBody = z
  .object({
    contentType: z.enum(PHOTO_TYPES),
    size: z
      .number()
      .int()
      .min(1)
      .openapi({ description: 'exact size in bytes of the file to PUT' }),
  })
  .openapi('CreateUpload');

export const UploadTicketSchema = z
  .object({
    photoId: z.string(),
    uploadUrl: z.string().openapi({ description: 'PUT the file here, with the headers below' }),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string(),
  })
  .openapi('UploadTicket');

/** A stored photo as clients see it; variant URLs hang off MEDIA_PUBLIC_URL. */
export function toPhoto(
  row: { id: string; width: number | null; height: number | null },
  mediaBase: string,
): Photo {
  const url = (name: VariantName) => `${mediaBase}/${variantKey(row.id, name)}`;
  return {
    id: row.id,
    width: row.width ?? 0,
    height: row.height ?? 0,
    urls: { thumb: url('thumb'), small: url('small'), large: url('large') },
  };
}
