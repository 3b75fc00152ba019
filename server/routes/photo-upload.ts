import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { AppError } from '../../core/errors.ts';
import { type SpooledFile, spoolStream, tooLarge } from '../../domain/photos/spool.ts';

/**
 * Streams the `file` part of a multipart request to a temporary file: the
 * upload never sits whole in memory, and reading stops as soon as it passes
 * the limit. Other parts are drained and ignored.
 */
export async function receiveMultipartFile(
  request: Request,
  options: { field: string; maxBytes: number },
): Promise<SpooledFile> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new AppError(
      'unsupported_media_type',
      'send the photo as multipart/form-data with a "file" field',
    );
  }
  if (!request.body) throw missingFile(options.field);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // busboy signals 'limit' on reaching fileSize, not on passing it: one byte more, so
      // a file of exactly maxBytes is accepted (the spool's count applies the rule itself).
      limits: { files: 1, fileSize: options.maxBytes + 1, fields: 20, parts: 25, fieldSize: 4096 },
    });
  } catch {
    throw new AppError('validation_failed', 'malformed multipart request');
  }

  return new Promise<SpooledFile>((resolve, reject) => {
    let spooled: Promise<SpooledFile> | undefined;
    let failure: unknown;
    let settled = false;
    const fail = (err: unknown) => {
      failure ??= err;
    };
    // Settles once, whichever of close / error / a broken request body comes first.
    const finish = async () => {
      if (settled) return;
      settled = true;
      let file: SpooledFile | undefined;
      try {
        file = await spooled;
      } catch (err) {
        fail(err);
      }
      if (failure) {
        await file?.cleanup();
        reject(failure);
      } else if (!file) {
        reject(missingFile(options.field));
      } else {
        resolve(file);
      }
    };

    const body = Readable.fromWeb(request.body as unknown as WebReadableStream);

    parser.on('file', (name, stream) => {
      if (name !== options.field || spooled) {
        stream.resume();
        return;
      }
      // busboy stops at fileSize and emits 'limit' (the spool's own count is a second guard).
      // Answer at once: stop parsing, and let the rest of the body drain unread.
      stream.on('limit', () => {
        fail(tooLarge(options.maxBytes));
        body.unpipe(parser);
        body.resume();
        // Not from inside busboy's own 'limit' callback: it still touches the stream after emitting.
        setImmediate(() => {
          parser.destroy(tooLarge(options.maxBytes));
          void finish();
        });
      });
      spooled = spoolStream(stream, options.maxBytes);
      spooled.catch(fail);
    });
    parser.on('error', () => {
      fail(new AppError('validation_failed', 'malformed multipart request'));
      void finish();
    });
    parser.on('close', () => void finish());

    body.on('error', (err) => {
      fail(new AppError('validation_failed', 'the upload was interrupted', { cause: err }));
      parser.destroy();
      void finish();
    });
    body.pipe(parser);
  });
}

function missingFile(field: string): AppError {
  return new AppError('validation_failed', `${field}: a file is required`, {
    details: { in: 'form', fields: [{ field, message: 'a file is required' }] },
  });
}
