import { getJson, savedToken, saveToken, sendJson, UnauthorizedError } from './api.js';
import { LineChart } from './chart.js';
import { openEventStream } from './event-stream.js';
import { byId, formatBytes, formatCount, formatDuration, formatNumber, roomSegment } from './format.js';
import { NodesPanel } from './nodes-panel.js';
import { RoomActions } from './room-actions.js';
import { RoomView } from './room-view.js';
import { RoomsTable, type RoomQuery } from './rooms-table.js';
import type { ClusterAnswer, RoomDetails, RoomList, RoomsEvent, Sample, SortKey, Stats, VersionItem, WebhookStatus } from '../../lib/dashboard/wire-types.js';
import { VersionsPanel } from './versions-panel.js';
import { WebhooksPanel } from './webhooks-panel.js';

/** Samples kept for the charts: ten minutes at one per second. */
const MAX_SAMPLES = 600;

/** Stops what keeps the page live (the event stream, the Nodes panel's refreshes). */
let stopLive: (() => void) | null = null;
/** The node serving the page, from its first totals. */
let thisNode: string | null = null;

function showLogin(message?: string): void {
  stopLive?.();
  stopLive = null;
  byId('app').hidden = true;
  byId('room-view').hidden = true;
  byId('sign-out').hidden = true;
  byId('login').hidden = false;
  const error = byId('login-error');
  error.hidden = message === undefined;
  error.textContent = message ?? '';
  byId<HTMLInputElement>('token').focus();
}

byId('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = byId<HTMLInputElement>('token').value.trim();
  if (token === '') return;
  getJson<Stats>('api/stats', token)
    .then(() => {
      saveToken(token);
      start(token);
    })
    .catch((error: unknown) => showLogin(error instanceof UnauthorizedError ? 'That token was refused.' : `Signing in failed: ${error instanceof Error ? error.message : String(error)}`));
});

byId('sign-out').addEventListener('click', () => {
  saveToken(null);
  showLogin();
});

function start(token: string): void {
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('sign-out').hidden = false;

  const onError = (error: unknown): void => {
    if (error instanceof UnauthorizedError) {
      saveToken(null);
      showLogin('The token is no longer accepted.');
    }
  };
  const roomsUrl = (query: RoomQuery, offset: number, limit: number): string => {
    const params = new URLSearchParams({ sort: query.sort, order: query.order, offset: String(offset), limit: String(limit) });
    if (query.prefix !== '') params.set('prefix', query.prefix);
    return `api/rooms?${params}`;
  };
  const table = new RoomsTable(
    byId('rooms-viewport'),
    byId('rooms-spacer'),
    byId('rooms-total'),
    byId('rooms-empty'),
    byId('rooms-note'),
    (query, offset, limit) => getJson<RoomList>(roomsUrl(query, offset, limit), token),
    (name) => {
      location.hash = `room=${encodeURIComponent(name)}`;
    },
    onError,
  );
  const versionsPanel = new VersionsPanel(
    {
      list: (room) => getJson<{ versions: VersionItem[] }>(`api/rooms/${roomSegment(room)}/versions`, token),
      document: (room, id) => getJson<{ document: unknown }>(`api/rooms/${roomSegment(room)}/versions/${encodeURIComponent(id)}/document`, token),
      create: (room, name) => sendJson<VersionItem>('POST', `api/rooms/${roomSegment(room)}/versions`, token, name === undefined ? {} : { name }),
      restore: (room, id) => sendJson('POST', `api/rooms/${roomSegment(room)}/versions/${encodeURIComponent(id)}/restore`, token),
    },
    () => roomView.refreshDocument(),
    onError,
  );
  const roomActions = new RoomActions(
    (room) => sendJson('DELETE', `api/rooms/${roomSegment(room)}`, token),
    () => {
      roomView.close();
      void table.refresh();
    },
    onError,
  );
  const roomView = new RoomView(
    (name) => getJson<RoomDetails>(`api/rooms/${roomSegment(name)}`, token),
    (name) => getJson<{ document: unknown }>(`api/rooms/${roomSegment(name)}/document`, token),
    () => {
      if (location.hash !== '') history.replaceState(null, '', location.pathname + location.search);
      table.select(null);
    },
    onError,
    () => thisNode,
    async (name, filter) => (await sendJson<{ closed: number }>('POST', `api/rooms/${roomSegment(name)}/disconnect`, token, filter)) ?? { closed: 0 },
    [versionsPanel, roomActions],
  );
  const webhooksPanel = new WebhooksPanel(() => getJson<WebhookStatus>('api/webhooks', token), onError);
  const nodesPanel = new NodesPanel(() => getJson<ClusterAnswer>('api/cluster', token), onError);
  nodesPanel.start();
  const openFromHash = (): void => {
    const match = /^#room=(.*)$/.exec(location.hash);
    if (!match) return roomView.close();
    const name = decodeURIComponent(match[1]);
    table.select(name);
    roomView.open(name);
  };
  window.addEventListener('hashchange', openFromHash);
  openFromHash();

  setUpSorting(table);
  setUpSearch(table);
  table.setQuery({});

  const connectionsChart = new LineChart(byId<HTMLCanvasElement>('chart-connections'), [{ color: '--series-a', value: (sample) => sample.connections }]);
  const messagesChart = new LineChart(byId<HTMLCanvasElement>('chart-messages'), [
    { color: '--series-b', value: (sample) => sample.messagesInPerSecond },
    { color: '--series-c', value: (sample) => sample.messagesOutPerSecond },
  ]);
  let samples: Sample[] = [];
  const drawCharts = (): void => {
    connectionsChart.render(samples);
    messagesChart.render(samples);
  };
  window.addEventListener('resize', drawCharts);

  const stopStream = openEventStream('api/events', token, {
    onStatus(status) {
      const badge = byId('status');
      badge.textContent = status === 'live' ? 'live' : status === 'connecting' ? 'connecting' : 'offline';
      badge.className = `status ${status === 'live' ? 'status-live' : status === 'connecting' ? 'status-wait' : 'status-off'}`;
    },
    onUnauthorized() {
      saveToken(null);
      showLogin('The token is no longer accepted.');
    },
    onEvent({ type, data }) {
      switch (type) {
        case 'history':
          samples = (data as { samples: Sample[] }).samples.slice(-MAX_SAMPLES);
          drawCharts();
          break;
        case 'totals': {
          const stats = data as Stats & { at: string };
          thisNode = stats.nodeId;
          renderTotals(stats, table);
          nodesPanel.render();
          webhooksPanel.update(stats.webhooks);
          const last = samples[samples.length - 1];
          const at = Date.parse(stats.at);
          if (!last || at - last.at >= 500) {
            samples.push({ at, rooms: stats.rooms, connections: stats.connections, messagesInPerSecond: stats.messagesPerSecond.in, messagesOutPerSecond: stats.messagesPerSecond.out });
            if (samples.length > MAX_SAMPLES) samples.shift();
          }
          drawCharts();
          table.render();
          break;
        }
        case 'ready':
        case 'reset':
          void table.refresh();
          break;
        case 'rooms':
          table.applyEvent(data as RoomsEvent);
          roomView.applyEvent(data as RoomsEvent);
          break;
      }
    },
  });
  stopLive = () => {
    stopStream();
    nodesPanel.stop();
  };
}

function setUpSorting(table: RoomsTable): void {
  const headers = [...document.querySelectorAll<HTMLButtonElement>('.row.head .sort')];
  const mark = (): void => {
    const { sort, order } = table.currentQuery;
    for (const header of headers) {
      header.classList.toggle('sorted', header.dataset.sort === sort);
      header.classList.toggle('asc', header.dataset.sort === sort && order === 'asc');
    }
  };
  for (const header of headers) {
    header.addEventListener('click', () => {
      const sort = header.dataset.sort as SortKey;
      const current = table.currentQuery;
      const order = current.sort === sort ? (current.order === 'asc' ? 'desc' : 'asc') : sort === 'name' ? 'asc' : 'desc';
      table.setQuery({ sort, order });
      mark();
    });
  }
  mark();
}

function setUpSearch(table: RoomsTable): void {
  const input = byId<HTMLInputElement>('search');
  let timer: number | undefined;
  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => table.setQuery({ prefix: input.value }), 200);
  });
}

function renderTotals(stats: Stats, table: RoomsTable): void {
  byId('node').textContent = `node ${stats.nodeId.slice(0, 8)}`;
  byId('t-rooms').textContent = formatNumber(stats.rooms);
  byId('t-rooms-known').textContent = `${byId('rooms-total').textContent || '0'} known${table.currentQuery.prefix ? ' (filtered)' : ''}`;
  byId('t-connections').textContent = formatNumber(stats.connections);
  byId('t-opened').textContent = `${formatNumber(stats.connectionsOpened)} opened since start`;
  byId('t-mps').textContent = formatNumber(stats.messagesPerSecond.in + stats.messagesPerSecond.out);
  byId('t-mps-split').textContent = `in ${formatNumber(stats.messagesPerSecond.in)} · out ${formatNumber(stats.messagesPerSecond.out)}`;
  byId('t-memory').textContent = formatBytes(stats.memory.rssBytes);
  byId('t-heap').textContent = `heap ${formatBytes(stats.memory.heapUsedBytes)}`;
  byId('t-uptime').textContent = formatDuration(stats.uptimeMs);
  byId('t-checkpoints').textContent = `${formatCount(stats.checkpoints.written, 'checkpoint')}${stats.checkpoints.failed > 0 ? ` · ${formatNumber(stats.checkpoints.failed)} failed` : ''}`;
  byId('c-connections').textContent = String(stats.connections);
  byId('c-in').textContent = formatNumber(stats.messagesPerSecond.in);
  byId('c-out').textContent = formatNumber(stats.messagesPerSecond.out);

  const { metadata } = stats;
  const healthy = metadata.healthy;
  const card = byId('t-health-card');
  card.classList.toggle('good', healthy);
  card.classList.toggle('bad', !healthy);
  byId('t-health').textContent = healthy ? 'OK' : 'Degraded';
  const detail = byId('t-health-detail');
  detail.textContent = healthy
    ? `${metadata.store} store · ${formatCount(metadata.writeFailures, 'failure')}`
    : `${metadata.store} writes failing: ${formatCount(metadata.writeFailures, 'failure')}, ${formatNumber(metadata.queued)} queued, ${formatNumber(metadata.dropped)} dropped`;
  detail.title = metadata.lastError ?? '';
}

const token = savedToken();
if (token) start(token);
else showLogin();
