import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../core/errors.ts';

/**
 * Photos on their way in go to a temporary file first (a multipart upload, or an
 * original fetched from the store): never whole in memory, and stopped as soon as
 * they pass the size limit.
 */

export interface SpooledFile {
  path: string;
  bytes: number;
  /** Removes the temporary file; safe to call twice. */
  cleanup(): Promise<void>;
}

const TMP = path.join(tmpdir(), 'unimal-uploads');

/**
 * The one size rule of both upload paths (multipart and presigned): a photo of exactly
 * `maxBytes` (PHOTO_MAX_BYTES, 10 MiB by default) is accepted, one byte more is not.
 */
export function exceedsPhotoLimit(bytes: number, maxBytes: number): boolean {
  return bytes > maxBytes;
}

export function tooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', `the file exceeds ${maxBytes} bytes`);
}

/** Copies a stream to a temporary file, failing with 413 past `maxBytes`. */
export async function spoolStream(source: Readable, maxBytes: number): Promise<SpooledFile> {
  // Synchronous on purpose: awaiting here would leave `source` without an error
  // listener for a tick, and a stream failing in that tick would crash the process.
  mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, randomUUID());
  const cleanup = () => rm(file, { force: true });
  let bytes = 0;
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          if (exceedsPhotoLimit(bytes, maxBytes)) throw tooLarge(maxBytes);
          yield chunk;
        }
      },
      createWriteStream(file),
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { path: file, bytes, cleanup };
}
