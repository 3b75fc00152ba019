import sharp, { type Metadata } from 'sharp';
import { AppError } from '../../core/errors.ts';

/** What the variants are: `thumb` a square crop, `small` and `large` fit inside a box. All WebP. */
export const VARIANTS = {
  thumb: { width: 256, height: 256, fit: 'cover' as const },
  small: { width: 640, height: 640, fit: 'inside' as const },
  large: { width: 1600, height: 1600, fit: 'inside' as const },
};
export type VariantName = keyof typeof VARIANTS;

const ACCEPTED = new Set(['jpeg', 'png', 'webp']);

export interface ProcessedImage {
  width: number;
  height: number;
  variants: Record<VariantName, Buffer>;
}

/**
 * Turns uploaded bytes into the stored variants. The type is judged from the
 * bytes (never from a header or a name); orientation from EXIF is applied to
 * the pixels; the output carries no metadata at all (sharp writes none unless
 * asked), so no EXIF GPS, camera serial or ICC profile ever reaches storage.
 * Huge pixel counts are refused before decoding (decompression bombs) and a
 * truncated file is an error, not a half-grey picture.
 */
export async function processImage(
  input: string | Buffer,
  maxPixels: number,
): Promise<ProcessedImage> {
  const options = { limitInputPixels: maxPixels, failOn: 'truncated' as const, autoOrient: true };
  let meta: Metadata;
  try {
    // Reading the header decodes no pixels; the pixel count is checked just below.
    meta = await sharp(input, { ...options, limitInputPixels: false }).metadata();
  } catch {
    throw unsupported();
  }
  if (!meta.format || !ACCEPTED.has(meta.format)) throw unsupported();
  if ((meta.pages ?? 1) > 1)
    throw new AppError('unsupported_media_type', 'animated images are not supported');
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) {
    throw new AppError(
      'payload_too_large',
      `image has ${pixels} pixels; at most ${maxPixels} are accepted`,
    );
  }
  try {
    const base = sharp(input, options);
    const entries = await Promise.all(
      (Object.keys(VARIANTS) as VariantName[]).map(async (name) => {
        const v = VARIANTS[name];
        const buffer = await base
          .clone()
          .resize({
            width: v.width,
            height: v.height,
            fit: v.fit,
            withoutEnlargement: name !== 'thumb',
          })
          .webp({ quality: name === 'thumb' ? 75 : 82 })
          .toBuffer();
        return [name, buffer] as const;
      }),
    );
    // autoOrient swaps the reported dimensions for rotated orientations (5–8).
    return {
      width: meta.autoOrient?.width ?? meta.width ?? 0,
      height: meta.autoOrient?.height ?? meta.height ?? 0,
      variants: Object.fromEntries(entries) as Record<VariantName, Buffer>,
    };
  } catch (err) {
    if (err instanceof AppError) throw err;
    // Decoding failed past the header: a corrupt or truncated file.
    throw new AppError(
      'unsupported_media_type',
      'the image could not be decoded (corrupt or truncated)',
      {
        cause: err,
      },
    );
  }
}

function unsupported(): AppError {
  return new AppError('unsupported_media_type', 'not a JPEG, PNG or WebP image');
}

export const variantKey = (photoId: string, name: VariantName) => `photos/${photoId}/${name}.webp`;
export const originalKey = (photoId: string) => `uploads/${photoId}`;
/** Every object a photo may have in storage. */
export const allKeys = (photoId: string) => [
  originalKey(photoId),
  ...(Object.keys(VARIANTS) as VariantName[]).map((n) => variantKey(photoId, n)),
];
