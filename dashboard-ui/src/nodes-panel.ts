import { byId, element, formatAge, formatNumber, shortId } from './format.js';
import type { ClusterAnswer } from '../../lib/dashboard/wire-types.js';

/** How often the panel asks for the cluster view; the server reads its registry at most every couple of seconds anyway. */
const REFRESH_INTERVAL_MS = 5_000;

/**
 * The Nodes panel: every node of the cluster, its internal URL, how many rooms it holds and how
 * long ago it last confirmed them. Shown only in cluster mode: a single node answers with no
 * cluster once, and the panel stays hidden without asking again.
 */
export class NodesPanel {
  private answer: { readonly data: ClusterAnswer; readonly receivedAt: number } | null = null;
  private timer: number | null = null;
  private stopped = false;
  private readonly section = byId('nodes');

  constructor(
    private readonly fetchCluster: () => Promise<ClusterAnswer>,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    void this.load();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Redraws with the last answer, so heartbeat ages keep counting between refreshes. */
  render(): void {
    const answer = this.answer;
    if (answer === null || answer.data.cluster === null) return;
    const { nodeId, readAt, cluster } = answer.data;
    // Ages on the servers' clock (the browser's may differ), advanced by the time since the answer came.
    const elapsed = Date.now() - answer.receivedAt;
    byId('nodes-count').textContent = String(cluster.nodes.length);
    const table = element('table');
    const head = element('tr');
    for (const heading of ['Node', 'Internal URL', 'Rooms held', 'Heartbeat']) head.append(element('th', undefined, heading));
    table.append(head);
    for (const node of cluster.nodes) {
      const row = element('tr');
      row.dataset.node = node.nodeId;
      const name = element('td', 'mono', shortId(node.nodeId));
      name.title = node.nodeId;
      if (node.nodeId === nodeId) name.append(' ', element('span', 'pill pill-self', 'this node'));
      row.append(
        name,
        element('td', 'mono', node.url),
        element('td', 'rooms-held', formatNumber(node.rooms)),
        element('td', 'heartbeat', formatAge(readAt - node.heartbeatAt + elapsed)),
      );
      table.append(row);
    }
    const body = cluster.nodes.length > 0 ? table : element('div', 'none', 'No node holds a room right now.');
    byId('nodes-table').replaceChildren(body);
  }

  private async load(): Promise<void> {
    this.timer = null;
    try {
      const data = await this.fetchCluster();
      if (this.stopped) return;
      if (data.cluster === null) {
        this.section.hidden = true;
        return;
      }
      this.answer = { data, receivedAt: Date.now() };
      this.section.hidden = false;
      byId('nodes-note').textContent = '';
      this.render();
    } catch (error) {
      if (this.stopped) return;
      byId('nodes-note').textContent = String(error instanceof Error ? error.message : error);
      this.onError(error);
    }
    if (!this.stopped) this.timer = window.setTimeout(() => void this.load(), REFRESH_INTERVAL_MS);
  }
}
