import { InvalidArgumentError } from '../errors.js';
import type { SymphonyEvents } from '../events.js';
import type { Logger } from '../logger.js';
import { versionsToThin } from './retention.js';
import { createVersionId, isVersionId } from './version-id.js';
import type { VersionStore } from './version-store.js';
import type { CreateVersionOptions, RestoreVersionOptions, StoredVersion, VersionInfo, VersionRetentionRule } from './version-types.js';

/** Longest version name, `createdBy` and `restoredBy`, in characters: labels for lists, not documents. */
const MAX_VERSION_LABEL_LENGTH = 256;

/** Throws an `InvalidArgumentError` for a label that is not a string of at most 256 characters. */
export function checkVersionLabels(room: string, labels: CreateVersionOptions & RestoreVersionOptions): void {
  for (const name of ['name', 'createdBy', 'restoredBy'] as const) {
    const value: unknown = labels[name];
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_VERSION_LABEL_LENGTH)) {
      throw new InvalidArgumentError(`"${name}" must be a string of at most ${MAX_VERSION_LABEL_LENGTH} characters`, room);
    }
  }
}

/** Writes, lists, reads and thins the versions of every room, over a `VersionStore`. */
export class VersionHistory {
  private readonly inFlight = new Set<Promise<VersionInfo>>();

  constructor(
    readonly store: VersionStore,
    private readonly retention: readonly VersionRetentionRule[],
    private readonly events: SymphonyEvents,
    private readonly logger: Logger,
  ) {}

  /**
   * Writes a version of `state`. An automatic one is followed by a thinning of the room's
   * automatic versions; a thinning that fails is logged and done again after the next one.
   */
  create(room: string, state: Uint8Array, kind: VersionInfo['kind'], options: CreateVersionOptions = {}): Promise<VersionInfo> {
    const write = this.write(room, state, kind, options);
    this.inFlight.add(write);
    const forget = () => this.inFlight.delete(write);
    write.then(forget, forget);
    return write;
  }

  /** Resolves once every version write started so far is done (shutdown waits for it before the store closes). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private async write(room: string, state: Uint8Array, kind: VersionInfo['kind'], options: CreateVersionOptions): Promise<VersionInfo> {
    const createdAt = new Date();
    const info: VersionInfo = {
      id: createVersionId(createdAt),
      room,
      createdAt,
      kind,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.createdBy === undefined ? {} : { createdBy: options.createdBy }),
      bytes: state.byteLength,
    };
    await this.store.put(info, state);
    this.events.emit('versionCreated', info);
    if (kind === 'auto') {
      try {
        await this.thin(room, createdAt.getTime());
      } catch (error) {
        this.logger.warn({ room, err: error }, 'thinning old versions failed; the next automatic version retries');
      }
    }
    return info;
  }

  list(room: string): Promise<VersionInfo[]> {
    return this.store.list(room);
  }

  async read(room: string, id: string): Promise<StoredVersion | null> {
    if (!isVersionId(id)) return null;
    const info = (await this.store.list(room)).find((version) => version.id === id);
    if (!info) return null;
    const state = await this.store.read(room, id);
    return state === null ? null : { info, state };
  }

  /** Resolves to true if the room had versions. */
  async deleteAll(room: string): Promise<boolean> {
    const existed = (await this.store.list(room)).length > 0;
    await this.store.deleteAll(room);
    return existed;
  }

  private async thin(room: string, nowMs: number): Promise<void> {
    const thinned = versionsToThin(await this.store.list(room), this.retention, nowMs);
    if (thinned.length === 0) return;
    await this.store.delete(room, thinned);
    this.logger.debug({ room, versions: thinned.length }, 'thinned old automatic versions');
  }
}
