import { randomBytes, timingSafeEqual } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import S3rver from 's3rver';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The embedded S3-compatible store (s3rver, objects under DATA_DIR/s3). It listens on
 * no TCP port at all: only on a Unix socket in a private (0700) directory, which the
 * server's own SDK client reaches through `httpAgent`. Clients never talk to it; their
 * presigned uploads go through the app's `/storage` route, which checks the signature.
 */
export interface EmbeddedStore {
  /** The name the SDK client uses (its connections go to the private socket whatever it says). */
  endpoint: string;
  httpAgent: http.Agent;
  /** What the internal client signs with: s3rver's own account (the socket is the boundary). */
  internalCredentials: S3Credentials;
  /** Signs and checks the presigned URLs given to clients: configured, or a secret in DATA_DIR. */
  signingCredentials: S3Credentials;
  close(): Promise<void>;
}

/** s3rver's built-in account; it does not check V4 signatures, so only its socket guards it. */
const S3RVER_ACCOUNT: S3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Every connection of this agent goes to one local socket, whatever host the request names. */
class SocketAgent extends http.Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true });
  }
  override createConnection(): net.Socket {
    return net.createConnection(this.socketPath);
  }
}

export async function startEmbeddedStore(options: {
  directory: string;
  dataDir: string;
  credentials?: S3Credentials;
}): Promise<EmbeddedStore> {
  // First, before anything listens: an unusable secret stops the start.
  const signingCredentials = options.credentials ?? localSigningCredentials(options.dataDir);
  mkdirSync(options.directory, { recursive: true });
  const s3 = new S3rver({
    silent: true,
    directory: path.resolve(options.directory),
    // Buckets by path only: the Host header of the internal client means nothing here.
    vhostBuckets: false,
  });
  await s3.configureBuckets();
  // A fresh private directory per process: two nodes sharing DATA_DIR never collide,
  // and a stale socket left by a crash is never in the way.
  const socketDir =
    process.platform === 'win32' ? undefined : mkdtempSync(path.join(tmpdir(), 'unimal-s3-'));
  const socketPath = socketDir
    ? path.join(socketDir, 's3.sock')
    : `\\\\.\\pipe\\unimal-s3-${randomBytes(16).toString('hex')}`;
  const server = http.createServer(s3.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const httpAgent = new SocketAgent(socketPath);
  return {
    endpoint: 'http://localhost',
    httpAgent,
    internalCredentials: S3RVER_ACCOUNT,
    signingCredentials,
    async close() {
      httpAgent.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      (s3 as unknown as { logger?: { close(): void } }).logger?.close();
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    },
  };
}

/** Shorter than this, a signing secret is refused (it is 64 characters when generated). */
const MIN_SECRET_LENGTH = 32;

/**
 * Outside a configured key pair, the presigning secret is generated once and kept in
 * the data folder (as the JWT secret is): URLs stay valid across restarts, and nobody
 * can sign one without reading DATA_DIR.
 */
export function localSigningCredentials(dataDir: string): S3Credentials {
  const file = path.join(dataDir, 's3-signing-secret');
  const read = (): string => {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `${file} holds a signing secret of ${secret.length} characters (at least ${MIN_SECRET_LENGTH} are needed): delete the file to have a new one generated (unused upload URLs stop working), or set S3 credentials`,
      );
    }
    return secret;
  };
  const credentials = (secret: string) => ({
    accessKeyId: 'unimal-embedded',
    secretAccessKey: secret,
  });
  try {
    return credentials(read());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // not there yet: generated below
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  // Written whole under a private name, then linked into place: the file is never seen
  // half-written, and of two processes racing here the second finds the first's secret.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${secret}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(temp, file);
    return credentials(secret);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return credentials(read());
  } finally {
    rmSync(temp, { force: true });
  }
}

export interface PresignedPut {
  /** The object key the request targets (from its path). */
  key: string;
  query: URLSearchParams;
  contentType: string | undefined;
  contentLength: string | undefined;
}

export type PresignCheck =
  | { ok: true; length: number }
  | { ok: false; status: number; code: string; message: string };

/**
 * What a client's PUT is checked against: the URL the server itself presigned, with the
 * same public endpoint, bucket and keys. The signature is recomputed by the SDK's own
 * signer with the request's date, expiry, key, content type and length, and compared in
 * constant time: anything edited (key, method, type, size, expiry) fails to match.
 */
export interface PresignVerifier {
  publicEndpoint: () => string;
  bucket: string;
  region: string;
  credentials: S3Credentials;
  sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256'];
}

/** The headers a presigned PUT signs besides `host`: type and exact length. */
export const SIGNED_UPLOAD_HEADERS = ['content-type', 'content-length'] as const;

const denied = (message: string, code = 'AccessDenied', status = 403): PresignCheck => ({
  ok: false,
  status,
  code,
  message,
});

/** Presigned URLs may not live past a week (S3's own limit). */
const MAX_EXPIRES_S = 604_800;
/** A URL dated this far in the future was not signed by this server's clock. */
const CLOCK_SKEW_MS = 15 * 60_000;

export async function verifyPresignedPut(
  verifier: PresignVerifier,
  request: PresignedPut,
  now = Date.now(),
): Promise<PresignCheck> {
  const { query } = request;
  const params: Record<string, string> = {};
  for (const [name, value] of query) {
    if (Object.hasOwn(params, name)) return denied(`query parameter ${name} is repeated`);
    params[name] = value;
  }
  const signature = params['X-Amz-Signature'];
  const date = params['X-Amz-Date'];
  const expires = params['X-Amz-Expires'];
  if (params['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256' || !signature || !date || !expires) {
    return denied('a presigned URL (AWS Signature Version 4 in the query) is required');
  }
  const sha = Object.keys(params).filter((k) => k.toLowerCase() === 'x-amz-content-sha256');
  if (
    sha.length !== 1 ||
    sha[0] !== 'X-Amz-Content-Sha256' ||
    params[sha[0]] !== 'UNSIGNED-PAYLOAD'
  ) {
    return denied('the URL was not presigned by this server', 'SignatureDoesNotMatch');
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) return denied('X-Amz-Date is malformed');
  const signedAt = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (!/^\d{1,6}$/.test(expires) || +expires < 1 || +expires > MAX_EXPIRES_S) {
    return denied('X-Amz-Expires is out of range');
  }
  if (now > signedAt + +expires * 1000) return denied('Request has expired');
  if (signedAt > now + CLOCK_SKEW_MS) return denied('the URL is dated in the future');
  if (request.contentLength === undefined || !/^\d{1,15}$/.test(request.contentLength)) {
    return denied('Content-Length is required', 'MissingContentLength', 411);
  }
  if (request.contentType === undefined) {
    return denied('the signed Content-Type is required', 'SignatureDoesNotMatch');
  }

  const endpoint = new URL(verifier.publicEndpoint());
  const base = endpoint.pathname.replace(/\/+$/, '');
  const { 'X-Amz-Signature': _given, 'X-Amz-Content-Sha256': _sha, ...signed } = params;
  const toSign: Parameters<SignatureV4['presign']>[0] = {
    method: 'PUT',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: `${base}/${verifier.bucket}/${request.key.split('/').map(encodeURIComponent).join('/')}`,
    query: signed,
    headers: {
      host: endpoint.host,
      'content-type': request.contentType,
      'content-length': request.contentLength,
      // As the SDK's presigner does: the body is not hashed, its length and type are signed.
      'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
    },
  };
  const signer = new SignatureV4({
    credentials: verifier.credentials,
    region: verifier.region,
    service: 's3',
    sha256: verifier.sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const expected = await signer.presign(toSign, {
    signingDate: new Date(signedAt),
    expiresIn: +expires,
    signableHeaders: new Set(SIGNED_UPLOAD_HEADERS),
  });
  // The signer sets the credential scope and signed headers itself: the request's own
  // values must be the ones it signed, not merely present.
  for (const [name, value] of Object.entries(expected.query ?? {})) {
    if (name !== 'X-Amz-Signature' && params[name] !== value) {
      return denied(`${name} is not the one signed`, 'SignatureDoesNotMatch');
    }
  }
  const want = Buffer.from(String(expected.query?.['X-Amz-Signature'] ?? ''));
  const got = Buffer.from(signature);
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    return denied(
      'The request signature we calculated does not match the signature you provided.',
      'SignatureDoesNotMatch',
    );
  }
  return { ok: true, length: Number(request.contentLength) };
}
