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

/** Credentials the embedded server accepts (it does not check them). */
const EMBEDDED_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Object storage through @aws-sdk/client-s3 only: AWS, MinIO, or the embedded
 * s3rver all take the same code path.
 */
export interface Storage {
  bucket: string;
  client: S3Client;
  put(key: string, body: Buffer | Readable, contentType: string): Promise<void>;
  get(key: string): Promise<{ body: Readable; contentType?: string; length?: number } | undefined>;
  head(key: string): Promise<{ length: number; contentType?: string } | undefined>;
  /** Deletes keys; missing keys count as deleted (S3 semantics), so it is idempotent. */
  remove(keys: string[]): Promise<void>;
  /** A presigned PUT bound to the content type and exact length. */
  presignPut(key: string, contentType: string, length: number, ttlMs: number): Promise<string>;
  ensureBucket(): Promise<void>;
  destroy(): void;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export function createStorage(config: Pick<Config, 's3'>, endpointOverride?: string): Storage {
  const { s3 } = config;
  const endpoint = endpointOverride ?? s3.endpoint;
  const credentials =
    s3.accessKeyId && s3.secretAccessKey
      ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
      : endpointOverride
        ? EMBEDDED_CREDENTIALS
        : undefined;
  const options = {
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(credentials ? { credentials } : {}),
    // Checksums on every request are an AWS novelty that other S3 servers may refuse.
    requestChecksumCalculation: 'WHEN_REQUIRED' as const,
    responseChecksumValidation: 'WHEN_REQUIRED' as const,
  };
  const client = new S3Client({ ...options, ...(endpoint ? { endpoint } : {}) });
  // Presigned URLs are used by clients, which may reach S3 by another name than we do.
  const publicEndpoint = s3.publicEndpoint ?? endpoint;
  const presigner =
    publicEndpoint === endpoint
      ? client
      : new S3Client({ ...options, ...(publicEndpoint ? { endpoint: publicEndpoint } : {}) });
  const Bucket = s3.bucket;

  return {
    bucket: Bucket,
    client,
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType }),
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
    presignPut(key, contentType, length, ttlMs) {
      return getSignedUrl(
        presigner,
        new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: length }),
        { expiresIn: Math.max(1, Math.round(ttlMs / 1000)) },
      );
    },
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
      if (presigner !== client) presigner.destroy();
    },
  };
}

export interface EmbeddedS3 {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * The S3-compatible server a newcomer gets without configuring anything:
 * s3rver, in-process, on loopback, keeping objects on disk under DATA_DIR/s3.
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
