import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../../core/errors.js';
import { roomFileName } from '../../core/storage/room-file-name.js';
import { isVersionId } from '../../core/versions/version-id.js';
import type { VersionStore } from '../../core/versions/version-store.js';
import type { VersionInfo } from '../../core/versions/version-types.js';
import { deleteKeys, listKeys } from './s3-keys.js';

/** Options of `S3VersionStore`. */
export interface S3VersionStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** The documents' prefix; versions go under `<prefix>versions/`. @default '' */
  readonly prefix?: string;
}

const STATE = '.bin';
const INFO = '.json';

/**
 * Versions in the documents' bucket: `<prefix>versions/<room folder>/<id>.bin` (the state) and
 * `<id>.json` (its description, written last, so a listed version is always readable). Versions
 * are immutable, so descriptions once read are kept in memory: listing a room's versions again
 * costs one ListObjectsV2.
 */
export class S3VersionStore implements VersionStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly descriptions = new Map<string, VersionInfo>();

  constructor(options: S3VersionStoreOptions) {
    if (!options?.client || typeof options.bucket !== 'string' || options.bucket.length < 3) {
      throw new ConfigurationError('S3VersionStore needs a "client" and a "bucket" of at least 3 characters');
    }
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
  }

  /** The key prefix of a room's versions. */
  roomPrefix(room: string): string {
    return `${this.prefix}versions/${roomFileName(room)}/`;
  }

  async put(info: VersionInfo, state: Uint8Array): Promise<void> {
    const key = this.roomPrefix(info.room) + info.id;
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key + STATE, Body: state, ContentType: 'application/octet-stream' }));
    const description = JSON.stringify({ ...info, createdAt: info.createdAt.toISOString() });
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key + INFO, Body: description, ContentType: 'application/json' }));
    this.descriptions.set(key, info);
  }

  async list(room: string): Promise<VersionInfo[]> {
    const prefix = this.roomPrefix(room);
    const keys = (await listKeys(this.client, this.bucket, prefix))
      .map(({ key }) => key)
      .filter((key) => key.endsWith(INFO) && isVersionId(key.slice(prefix.length, -INFO.length)))
      .map((key) => key.slice(0, -INFO.length));
    // Another node may have thinned or deleted versions: forget those, so the cache stays the size of what exists.
    const listed = new Set(keys);
    for (const key of this.descriptions.keys()) if (key.startsWith(prefix) && !listed.has(key)) this.descriptions.delete(key);
    const infos = await Promise.all(keys.map((key) => this.describe(key)));
    return infos.filter((info): info is VersionInfo => info !== null).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  async read(room: string, id: string): Promise<Uint8Array | null> {
    if (!isVersionId(id)) return null;
    const key = this.roomPrefix(room) + id;
    if ((await this.describe(key)) === null) return null;
    return this.get(key + STATE);
  }

  async delete(room: string, ids: readonly string[]): Promise<void> {
    const prefix = this.roomPrefix(room);
    const keys = ids.filter(isVersionId).map((id) => prefix + id);
    for (const key of keys) this.descriptions.delete(key);
    // Descriptions first: a failure in between leaves unlisted states, never a listed version without one.
    await deleteKeys(this.client, this.bucket, keys.map((key) => key + INFO));
    await deleteKeys(this.client, this.bucket, keys.map((key) => key + STATE));
  }

  async deleteAll(room: string): Promise<void> {
    const prefix = this.roomPrefix(room);
    for (const key of this.descriptions.keys()) if (key.startsWith(prefix)) this.descriptions.delete(key);
    const keys = (await listKeys(this.client, this.bucket, prefix)).map(({ key }) => key);
    await deleteKeys(this.client, this.bucket, [...keys.filter((key) => key.endsWith(INFO)), ...keys.filter((key) => !key.endsWith(INFO))]);
  }

  private async describe(key: string): Promise<VersionInfo | null> {
    const known = this.descriptions.get(key);
    if (known) return known;
    const bytes = await this.get(key + INFO);
    if (bytes === null) return null;
    const record = JSON.parse(Buffer.from(bytes).toString('utf8')) as Omit<VersionInfo, 'createdAt'> & { createdAt: string };
    const info: VersionInfo = { ...record, createdAt: new Date(record.createdAt) };
    this.descriptions.set(key, info);
    return info;
  }

  private async get(key: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!object.Body) throw new Error(`S3 returned no body for ${key}`);
      return await object.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) return null;
      throw error;
    }
  }
}
