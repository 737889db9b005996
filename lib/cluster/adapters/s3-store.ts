import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../../core/errors.js';
import type { DocumentStore } from '../../core/storage/document-store.js';
import { roomFileName } from '../../core/storage/room-file-name.js';
import { listKeys } from './s3-keys.js';

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
  /** Room names by key, read from the objects' metadata: a key always names the same room, so they never go stale. */
  private readonly roomNames = new Map<string, string>();

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

  async delete(room: string): Promise<boolean> {
    const Key = this.key(room);
    let existed = true;
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
    } catch (error) {
      if (!(error instanceof NotFound || error instanceof NoSuchKey)) throw error;
      existed = false;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    return existed;
  }

  /**
   * Names of stored rooms (see `DocumentStore.list`): one ListObjectsV2 narrowed by the readable
   * part of the key, and the room name of each key not seen before from its metadata.
   */
  async list(options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
    const { prefix = '', after, limit } = options;
    // The readable part of a key is a prefix-preserving rewrite of the name: without the hash, it narrows the listing.
    const readablePrefix = roomFileName(prefix).slice(0, -33);
    const keys = (await listKeys(this.client, this.bucket, this.prefix + readablePrefix))
      .map(({ key }) => key)
      .filter((key) => key.endsWith('.ydoc') && !key.slice(this.prefix.length).includes('/'));
    const names = await Promise.all(keys.map((key) => this.roomOf(key)));
    return names
      .filter((name): name is string => name !== null && name.startsWith(prefix) && (after === undefined || name > after))
      .sort()
      .slice(0, limit);
  }

  private async roomOf(key: string): Promise<string | null> {
    const known = this.roomNames.get(key);
    if (known !== undefined) return known;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const encoded = head.Metadata?.room;
      if (encoded === undefined) return null;
      const room = decodeURIComponent(encoded);
      this.roomNames.set(key, room);
      return room;
    } catch (error) {
      // Deleted between the listing and the read.
      if (error instanceof NotFound || error instanceof NoSuchKey) return null;
      throw error;
    }
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
