import { randomUUID } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ConfigurationError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { roomFileName } from '../../core/storage/room-file-name.js';
import type { CheckpointStore } from '../replication/checkpoint-store.js';
import { StaleCheckpointError } from '../replication/errors.js';
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
  logger?: Logger;
}

/**
 * Whether the store honours `If-Match` / `If-None-Match` on `PutObject`: AWS S3 does; some
 * S3-compatible stores ignore them (then checkpoints are fenced by the writer lease's time only).
 */
export type ConditionalWrites = 'unknown' | 'enforced' | 'ignored';

/** The conditions of a write over the version last seen (an ETag, or null for "no object yet"). */
const conditionsOver = (version: string | null | undefined): Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'> =>
  typeof version === 'string' ? { IfMatch: version } : { IfNoneMatch: '*' };

const statusOf = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** 412: the condition failed. 409 (`ConditionalRequestConflict`): another conditional write to the key was in progress. */
const isConditionFailure = (error: unknown): boolean => statusOf(error) === 412 || (error as Error).name === 'ConditionalRequestConflict';

/** A store that does not implement a conditional header refuses the request rather than ignoring it. */
const isUnsupportedCondition = (error: unknown): boolean => statusOf(error) === 501 || (error as Error).name === 'NotImplemented';

/**
 * Documents on S3: one object per room holding its merged Yjs state, written at each checkpoint.
 * It has no journal: in cluster mode the Redis log keeps every update between checkpoints.
 *
 * Object keys are `<prefix><readable part>-<hash>.ydoc` (see `S3Store.key`), so any room name maps
 * to a valid, unique key of bounded length.
 */
export class S3Store implements CheckpointStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;
  private conditions: ConditionalWrites = 'unknown';
  /**
   * The ETag of each tracked room's object as this node last read or wrote it: null when there was
   * none, undefined while unknown (then only a first write is allowed).
   */
  private readonly versions = new Map<string, string | null | undefined>();
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
    this.logger = options.logger ?? silentLogger;
  }

  /** Whether the store was found to honour conditional writes (see `verify`). */
  get conditionalWrites(): ConditionalWrites {
    return this.conditions;
  }

  /** The object key of a room's document. */
  key(room: string): string {
    return `${this.prefix}${roomFileName(room)}.ydoc`;
  }

  track(room: string): void {
    if (!this.versions.has(room)) this.versions.set(room, undefined);
  }

  async load(room: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(room) }));
      if (!object.Body) throw new Error(`S3 returned no body for ${this.key(room)}`);
      const state = await object.Body.transformToByteArray();
      if (this.versions.has(room)) this.versions.set(room, object.ETag);
      return state;
    } catch (error) {
      if (!(error instanceof NoSuchKey)) throw error;
      if (this.versions.has(room)) this.versions.set(room, null);
      return null;
    }
  }

  /**
   * Writes the room's document; for a tracked room only over the version last read or written
   * here (`If-Match`, or `If-None-Match: *` for the first), rejecting with a `StaleCheckpointError`
   * when another node wrote it since.
   */
  async store(room: string, state: Uint8Array): Promise<void> {
    const tracked = this.versions.has(room);
    const conditions = tracked && this.conditions !== 'ignored' ? conditionsOver(this.versions.get(room)) : {};
    try {
      const written = await this.put(this.key(room), state, conditions, { room: encodeURIComponent(room) });
      if (tracked) this.versions.set(room, written.ETag);
    } catch (error) {
      if (tracked && isConditionFailure(error)) {
        this.versions.set(room, undefined);
        throw new StaleCheckpointError(room, { cause: error });
      }
      if (!(tracked && isUnsupportedCondition(error) && this.conditions !== 'ignored')) throw error;
      this.conditionsIgnored('it answered a conditional write with NotImplemented');
      await this.store(room, state);
    }
  }

  async release(room: string): Promise<void> {
    this.versions.delete(room);
  }

  /**
   * Checks that the bucket exists and that this node may write to it, and finds out whether the
   * store honours conditional writes, with a probe object under the prefix (written, then
   * deleted: what a node's grant allows). Throws a `ConfigurationError` naming the bucket, and how
   * to create it when it is missing.
   */
  async verify(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    try {
      await this.probeConditionalWrites(options.abortSignal);
    } catch (error) {
      if ((error as Error).name === 'NoSuchBucket' || statusOf(error) === 404) {
        throw new ConfigurationError(
          `the S3 bucket "${this.bucket}" (SYMPHONY_S3_BUCKET) does not exist: deploy it with the SymphonyService CDK construct, or create it with \`npx symphony-setup --bucket ${this.bucket}\``,
        );
      }
      throw new ConfigurationError(`the S3 bucket "${this.bucket}" (SYMPHONY_S3_BUCKET) could not be written to: ${(error as Error).message}`, { cause: error });
    }
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
    // The next write of this room, if any, is a first write again.
    if (this.versions.has(room)) this.versions.set(room, null);
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

  private put(key: string, body: Uint8Array, conditions: Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'>, metadata: Record<string, string>, abortSignal?: AbortSignal) {
    return this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/octet-stream', Metadata: metadata, ...conditions }),
      { abortSignal },
    );
  }

  /**
   * A first write (`If-None-Match: *`) to a fresh key must succeed; a second one, and a write
   * over an ETag the object does not have, must be refused. The key is unique to this probe, so
   * nodes starting together cannot disturb each other's.
   */
  private async probeConditionalWrites(abortSignal?: AbortSignal): Promise<void> {
    const key = `${this.prefix}_conditional-write-probe-${randomUUID()}`;
    const body = new Uint8Array([1]);
    const refused = async (conditions: Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'>): Promise<boolean> => {
      try {
        await this.put(key, body, conditions, {}, abortSignal);
        return false;
      } catch (error) {
        if (isConditionFailure(error)) return true;
        if (isUnsupportedCondition(error)) return false;
        throw error;
      }
    };
    // Unconditional: this write also tells whether the bucket exists and takes our writes.
    await this.put(key, body, {}, {}, abortSignal);
    try {
      const enforced = (await refused({ IfNoneMatch: '*' })) && (await refused({ IfMatch: '"00000000000000000000000000000000"' }));
      if (enforced) this.conditions = 'enforced';
      else this.conditionsIgnored('a probe write with a failing condition succeeded');
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }).catch((error: unknown) => {
        this.logger.warn({ bucket: this.bucket, key, err: error }, 'could not delete the conditional-write probe object');
      });
    }
  }

  private conditionsIgnored(evidence: string): void {
    if (this.conditions === 'ignored') return;
    this.conditions = 'ignored';
    this.logger.warn(
      { bucket: this.bucket, evidence },
      'this S3-compatible store does not enforce conditional writes (If-Match / If-None-Match): checkpoints are fenced by the writer lease\'s time only',
    );
  }
}

/** The S3 client settings for `options`; exported for tools that talk to the same bucket. */
export function s3ClientConfig(options: Pick<S3StoreOptions, 'endpoint' | 'region' | 'requestTimeoutMs'>): S3ClientConfig {
  const customEndpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    // Without throwOnRequestTimeout the SDK only warns when the timeout passes, and waits on.
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
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

/**
 * Creates the documents bucket if it does not exist (for local stand-ins and self-managed
 * deployments, `npx symphony-setup`; on AWS the CDK construct creates it, encrypted and private).
 */
export async function ensureDocumentBucket(client: S3Client, bucket: string): Promise<'created' | 'existed'> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'existed';
  } catch (error) {
    if (statusOf(error) !== 404 && (error as Error).name !== 'NotFound') throw error;
  }
  const region = await client.config.region();
  await client.send(
    new CreateBucketCommand({ Bucket: bucket, ...(region && region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}) }),
  );
  return 'created';
}
