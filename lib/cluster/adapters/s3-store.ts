import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../../core/errors.js';
import type { DocumentStore } from '../../core/storage/document-store.js';
import { roomFileName } from '../../core/storage/room-file-name.js';

/** Options of `S3Store`; only `bucket` is required. */
export interface S3StoreOptions {
  /** The bucket holding the documents (at least 3 characters). */
  bucket: string;
  /**
   * Prepended to every object key, e.g. `'symphony/'` to share a bucket.
   * @default ''
   */
  prefix?: string;
  /**
   * An S3-compatible endpoint (MinIO, a local stand-in). Setting it also selects path-style
   * addressing and checksums only where required, which such stores expect.
   * @default the SDK's: AWS S3, or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` when set
   */
  endpoint?: string;
  /** @default the SDK's: `AWS_REGION` or the shared config file */
  region?: string;
  /**
   * How long one S3 request may take, in milliseconds, before it fails (and the checkpoint is
   * retried). Without it a hung connection would stall a room's checkpoints indefinitely.
   * @default 10_000
   */
  requestTimeoutMs?: number;
  /** A ready-made client; `endpoint`, `region` and `requestTimeoutMs` are then ignored. */
  client?: S3Client;
}

/**
 * Documents on S3: one object per room holding its merged Yjs state, written at each checkpoint.
 * It has no journal: in cluster mode the Redis log keeps every update between checkpoints.
 *
 * Object keys are `<prefix><readable part>-<hash>.ydoc` (see `S3Store.key`), so any room name maps
 * to a valid, unique key of bounded length.
 */
export class S3Store implements DocumentStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;

  constructor(options: S3StoreOptions) {
    if (!options || typeof options.bucket !== 'string' || options.bucket.length < 3) {
      throw new ConfigurationError('S3Store needs a "bucket" of at least 3 characters');
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client(s3ClientConfig(options));
  }

  /** The object key of a room's document. */
  key(room: string): string {
    return `${this.prefix}${roomFileName(room)}.ydoc`;
  }

  async load(room: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(room) }));
      if (!object.Body) throw new Error(`S3 returned no body for ${this.key(room)}`);
      return await object.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) return null;
      throw error;
    }
  }

  async store(room: string, state: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(room),
        Body: state,
        ContentType: 'application/octet-stream',
        Metadata: { room: encodeURIComponent(room) },
      }),
    );
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/** The S3 client settings for `options`; exported for tools that talk to the same bucket. */
export function s3ClientConfig(options: Pick<S3StoreOptions, 'endpoint' | 'region' | 'requestTimeoutMs'>): S3ClientConfig {
  const customEndpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000 },
    ...(customEndpoint
      ? {
          // S3-compatible stores serve buckets under the path, and some store chunk-framed bodies
          // verbatim when the SDK streams them with trailing checksums.
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  };
}
