import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import S3rver from 's3rver';
import type { Config } from './config.ts';
import {
  type EmbeddedStore,
  type PresignCheck,
  type PresignedPut,
  SIGNED_UPLOAD_HEADERS,
  verifyPresignedPut,
} from './embedded-store.ts';

/** Credentials the test server (s3rver on loopback) accepts (it does not check them). */
const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** How long a request to the embedded store may stay idle (no byte either way). */
const EMBEDDED_IDLE_TIMEOUT_MS = 60_000;

/**
 * Object storage through @aws-sdk/client-s3 only: AWS, MinIO, or the embedded
 * s3rver all take the same code path.
 */
export interface Storage {
  bucket: string;
  client: S3Client;
  /**
   * A stream body needs its `length` (S3 wants to know it before the first byte). Aborting
   * `signal` ends the request to the store (say, when the stream feeding the body failed).
   */
  put(
    key: string,
    body: Buffer | Readable,
    contentType: string,
    length?: number,
    signal?: AbortSignal,
  ): Promise<void>;
  get(key: string): Promise<{ body: Readable; contentType?: string; length?: number } | undefined>;
  head(key: string): Promise<{ length: number; contentType?: string } | undefined>;
  /** Deletes keys; missing keys count as deleted (S3 semantics), so it is idempotent. */
  remove(keys: string[]): Promise<void>;
  /**
   * A presigned PUT bound to the content type and exact length: both are signed headers
   * (`X-Amz-SignedHeaders=content-length;content-type;host`), so S3, MinIO and the embedded
   * store all refuse a PUT of another type or size.
   */
  presignPut(
    key: string,
    contentType: string,
    length: number,
    ttlMs: number,
    options?: { signingDate?: Date },
  ): Promise<string>;
  /**
   * Only with the embedded store: checks a client's PUT against the URL this server
   * presigned (the app's `/storage` route calls it before writing anything).
   */
  verifyPresignedPut?: (request: PresignedPut) => Promise<PresignCheck>;
  ensureBucket(): Promise<void>;
  destroy(): void;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * With `embedded`, the server's client talks S3 to the embedded store over its private
 * socket, and presigned URLs point at the app's own `/storage` route
 * (`config.s3.publicEndpoint`, resolved with the port the node listens on before storage
 * is built: see resolveConfig in core/config.ts).
 */
export function createStorage(
  config: Pick<Config, 's3'>,
  embeddedOrEndpoint?: EmbeddedStore | string,
): Storage {
  const { s3 } = config;
  const embedded = typeof embeddedOrEndpoint === 'object' ? embeddedOrEndpoint : undefined;
  const endpointOverride = embedded?.endpoint ?? (embeddedOrEndpoint as string | undefined);
  const endpoint = endpointOverride ?? s3.endpoint;
  const configured =
    s3.accessKeyId && s3.secretAccessKey
      ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
      : undefined;
  const credentials = embedded
    ? embedded.internalCredentials
    : (configured ?? (endpointOverride ? EMBEDDED_CREDENTIALS : undefined));
  const options = {
    region: s3.region,
    forcePathStyle: embedded ? true : s3.forcePathStyle,
    // Checksums on every request are an AWS novelty that other S3 servers may refuse.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  const client = new S3Client({
    ...options,
    ...(credentials ? { credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
    // A request to the embedded store that stalls (a client's upload that stopped feeding
    // its body) is dropped instead of holding a socket and a handler for minutes.
    ...(embedded
      ? {
          requestHandler: {
            httpAgent: embedded.httpAgent,
            connectionTimeout: 5_000,
            socketTimeout: EMBEDDED_IDLE_TIMEOUT_MS,
          },
        }
      : {}),
  });
  // Presigned URLs are used by clients, which may reach S3 by another name than we do.
  // Built on first use: the embedded store's public endpoint is known once the app listens.
  let presigner: S3Client | undefined;
  const publicEndpoint = () => s3.publicEndpoint ?? endpoint;
  const getPresigner = (): S3Client => {
    if (presigner) return presigner;
    const url = publicEndpoint();
    const signing = embedded ? embedded.signingCredentials : credentials;
    presigner =
      !embedded && url === endpoint
        ? client
        : new S3Client({
            ...options,
            ...(signing ? { credentials: signing } : {}),
            ...(url ? { endpoint: url } : {}),
          });
    return presigner;
  };
  const Bucket = s3.bucket;

  return {
    bucket: Bucket,
    client,
    async put(key, body, contentType, length, signal) {
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(length === undefined ? {} : { ContentLength: length }),
        }),
        signal ? { abortSignal: signal } : {},
      );
    },
    async get(key) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        return {
          body: res.Body as Readable,
          contentType: res.ContentType,
          length: res.ContentLength,
        };
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async head(key) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { length: res.ContentLength ?? 0, contentType: res.ContentType };
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async remove(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000);
        const res = await client.send(
          new DeleteObjectsCommand({
            Bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new Error(
            `could not delete ${failed.length} objects: ${failed[0]?.Code} ${failed[0]?.Message}`,
          );
        }
      }
    },
    presignPut(key, contentType, length, ttlMs, presignOptions) {
      return getSignedUrl(
        getPresigner(),
        new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: length }),
        {
          expiresIn: Math.max(1, Math.round(ttlMs / 1000)),
          // The presigner leaves content-type unsigned unless told otherwise.
          signableHeaders: new Set(SIGNED_UPLOAD_HEADERS),
          ...(presignOptions?.signingDate ? { signingDate: presignOptions.signingDate } : {}),
        },
      );
    },
    ...(embedded
      ? {
          verifyPresignedPut: (request: PresignedPut) =>
            verifyPresignedPut(
              {
                publicEndpoint: () => publicEndpoint() ?? '',
                bucket: Bucket,
                region: s3.region,
                credentials: embedded.signingCredentials,
                sha256: getPresigner().config.sha256,
              },
              request,
            ),
        }
      : {}),
    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch {
        try {
          await client.send(new CreateBucketCommand({ Bucket }));
        } catch (err) {
          const name = (err as { name?: string }).name;
          if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
        }
      }
    },
    destroy() {
      client.destroy();
      if (presigner && presigner !== client) presigner.destroy();
    },
  };
}

export interface EmbeddedS3 {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * A plain s3rver on a loopback TCP port, checking no signatures: the test suite's shared
 * S3-compatible server. Nodes never use this; their embedded store is
 * `startEmbeddedStore` (core/embedded-store.ts), reachable only through the app.
 */
export async function startEmbeddedS3(options: {
  directory: string;
  port: number;
}): Promise<EmbeddedS3> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: path.resolve(options.directory),
  });
  const info = await server.run();
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    close: () => server.close(),
  };
}
