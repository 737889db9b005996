import type { ClusterView } from '../core/replicator.js';
import type { Symphony } from '../core/symphony.js';

/** Where one room lives in the cluster: the nodes holding it and the one writing its checkpoints. */
export type RoomPlacement = Pick<ClusterView['rooms'][number], 'holders' | 'writer'>;

/** The cluster-wide view as read at one moment. */
export interface ClusterSnapshot {
  /** When the view was read (ms since the epoch, this node's clock): heartbeat ages are measured from it. */
  readonly readAt: number;
  /** Null on a single node. */
  readonly view: ClusterView | null;
  /** The room's holders and writer in this view; none for a room no live node holds. */
  placement(room: string): RoomPlacement;
}

/** The answer of `GET /api/cluster`: which node holds which room (`cluster` is null on a single node). */
export interface ClusterAnswer {
  readonly nodeId: string;
  /** When the server read the view: heartbeat ages are measured from it, on the servers' clock. */
  readonly readAt: number;
  readonly cluster: ClusterView | null;
}

/** The fields `GET /api/rooms/:room` adds in cluster mode. */
export type RoomClusterFields =
  | (RoomPlacement & { readonly cluster: { readonly available: true; readonly readAt: number } })
  | { readonly cluster: { readonly available: false; readonly error: string } };

const nowhere: RoomPlacement = { holders: [], writer: null };

/**
 * The cluster-wide view, read at most once per `maxAgeMs` however many pages ask for it.
 *
 * Cluster mode's registry answers `describeCluster` by scanning its whole table (every holder and
 * writer lease of every room), so a read costs what the cluster's size costs, not what one room's
 * answer does. One read serves every request for `maxAgeMs`, concurrent requests share the read in
 * flight, and a room's details pick their room out of the same snapshot. A failed read is not
 * kept: the next request tries again.
 */
export class ClusterViewCache {
  private snapshot: ClusterSnapshot | null = null;
  private reading: Promise<ClusterSnapshot> | null = null;

  constructor(
    private readonly symphony: Symphony,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<ClusterSnapshot> {
    const snapshot = this.snapshot;
    if (snapshot !== null && Date.now() - snapshot.readAt < this.maxAgeMs) return Promise.resolve(snapshot);
    this.reading ??= this.read().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  /** `holders`, `writer` and `cluster` for a room's details in cluster mode; null on a single node. */
  async roomFields(room: string): Promise<RoomClusterFields | null> {
    let snapshot: ClusterSnapshot;
    try {
      snapshot = await this.get();
    } catch (error) {
      // Only cluster mode reads a registry, so a failed read means cluster mode.
      return { cluster: { available: false, error: error instanceof Error ? error.message : String(error) } };
    }
    if (snapshot.view === null) return null;
    return { ...snapshot.placement(room), cluster: { available: true, readAt: snapshot.readAt } };
  }

  private async read(): Promise<ClusterSnapshot> {
    const view = await this.symphony.cluster();
    let rooms: Map<string, RoomPlacement> | null = null;
    const snapshot: ClusterSnapshot = {
      readAt: Date.now(),
      view,
      placement(room) {
        if (view === null) return nowhere;
        rooms ??= new Map(view.rooms.map((entry) => [entry.room, { holders: entry.holders, writer: entry.writer }]));
        return rooms.get(room) ?? nowhere;
      },
    };
    this.snapshot = snapshot;
    return snapshot;
  }
}
