/**
 * Version history: stored, immutable states of a room. Automatic versions come from checkpoints
 * that changed the document and are thinned by a retention policy; named versions are made on
 * request and kept until the room is deleted.
 */
export interface VersionInfo {
  /** Unique within the room and sortable by creation time: `<createdAt in ms, base36, padded>-<random>`. */
  readonly id: string;
  readonly room: string;
  readonly createdAt: Date;
  /** `auto`: written by a checkpoint that changed the document; `named`: made by `createVersion`. */
  readonly kind: 'auto' | 'named';
  readonly name?: string;
  readonly createdBy?: string;
  /** Size of the stored state (a Yjs update), in bytes. */
  readonly bytes: number;
}

/** What `symphony.createVersion` takes. */
export interface CreateVersionOptions {
  /** A label shown in lists, e.g. "before the redesign". */
  readonly name?: string;
  /** Who asked for the version (a user id), for the record. */
  readonly createdBy?: string;
}

/** What `symphony.restoreVersion` takes. */
export interface RestoreVersionOptions {
  /** Who asked for the restore (a user id); logged with the restore. */
  readonly restoredBy?: string;
}

/** One version with its state, from `symphony.readVersion`. */
export interface StoredVersion {
  readonly info: VersionInfo;
  /** The room's whole state at that version, as one Yjs update. */
  readonly state: Uint8Array;
}

/**
 * One step of the retention policy: among the automatic versions younger than `withinMs`, keep
 * one per `everyMs` window (the newest in each); `everyMs: 0` keeps them all. A version older
 * than every rule's `withinMs` is deleted. Named versions are never thinned.
 */
export interface VersionRetentionRule {
  readonly withinMs: number;
  readonly everyMs: number;
}
