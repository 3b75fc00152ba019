import sharp from 'sharp';

/** GPS of a (made-up) garden where a hedgehog lives: what must never leak. */
export const GARDEN_GPS = { lat: [38, 43, 12.34], lng: [9, 8, 1] };

/**
 * A phone-like JPEG: 200×100 pixels stored sideways with EXIF orientation 6
 * (so it displays 100×200), camera make and GPS coordinates in its EXIF.
 */
export async function phoneJpeg(): Promise<Buffer> {
  return sharp({
    create: { width: 200, height: 100, channels: 3, background: { r: 200, g: 80, b: 20 } },
  })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation: 6 })
    .withExifMerge({
      IFD0: { Make: 'PhoneCo', Model: 'Pocket 12' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '38/1 43/1 1234/100',
        GPSLongitudeRef: 'W',
        GPSLongitude: '9/1 8/1 100/100',
      },
    })
    .toBuffer();
}

export async function image(
  format: 'png' | 'webp' | 'gif' | 'jpeg',
  width = 120,
  height = 80,
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 20, g: 120, b: 60 } } })
    .toFormat(format)
    .toBuffer();
}

/** Random pixels do not compress: a JPEG of roughly the wanted size. */
export async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 100 })
    .toBuffer();
}

/** A multipart/form-data body with one file part. */
export function multipart(
  field: string,
  filename: string,
  type: string,
  bytes: Buffer,
  boundary = 'unimalboundary42',
) {
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    body: new Uint8Array(Buffer.concat([head, bytes, tail])),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
