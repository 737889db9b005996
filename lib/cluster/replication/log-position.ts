/**
 * How far a node's copy of a room has followed the room's log.
 *
 * `applied` is the watermark: every log entry up to it is in the node's document. Messages on the
 * channel arrive in log order, so an entry that skips ahead means messages were lost (Redis
 * pub/sub drops them on a reconnect): the node then reads the missing entries from the log. The
 * watermark is also what a checkpoint covers, so the log is never trimmed past what the stored
 * state contains.
 */
export class LogPosition {
  private watermark: number;
  private highest: number;
  /** Entries already applied beyond the watermark, waiting for the ones before them. */
  private readonly ahead = new Set<number>();

  constructor(applied: number) {
    this.watermark = applied;
    this.highest = applied;
  }

  get applied(): number {
    return this.watermark;
  }

  /** The highest sequence number seen anywhere (message, log head, peer): more than `applied` means a gap. */
  get behind(): boolean {
    return this.highest > this.watermark;
  }

  /** Records that the entry `seq` is in the document. Returns true when entries before it are missing. */
  observe(seq: number): boolean {
    if (seq > this.highest) this.highest = seq;
    if (seq <= this.watermark) return false;
    if (seq === this.watermark + 1) {
      this.watermark = seq;
      while (this.ahead.delete(this.watermark + 1)) this.watermark++;
      return this.ahead.size > 0;
    }
    this.ahead.add(seq);
    return true;
  }

  /** Records that the log has reached `seq` (a head read from Redis, a peer's position). */
  sawHead(seq: number): boolean {
    if (seq > this.highest) this.highest = seq;
    return this.behind;
  }

  /** Everything up to `seq` is in the document (after reading the log or loading the stored state). */
  advanceTo(seq: number): void {
    if (seq <= this.watermark) return;
    this.watermark = seq;
    if (seq > this.highest) this.highest = seq;
    for (const pending of this.ahead) if (pending <= seq) this.ahead.delete(pending);
    while (this.ahead.delete(this.watermark + 1)) this.watermark++;
  }

  /** Starts over at `seq`: the log itself went back (Redis lost data). */
  reset(seq: number): void {
    this.watermark = seq;
    this.highest = seq;
    this.ahead.clear();
  }
}
