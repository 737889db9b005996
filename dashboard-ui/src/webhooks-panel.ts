import { byId, element, formatAgo, formatNumber } from './format.js';
import type { WebhookStats, WebhookStatus } from '../../lib/dashboard/wire-types.js';

/**
 * Webhook deliveries: the totals, and the recent deliveries with their state, HTTP status and
 * attempts. Reloaded when the totals (every sample) show that something changed, so an idle
 * server costs no requests. Hidden when no webhook is configured.
 */
export class WebhooksPanel {
  private lastTotals = '';
  private loading = false;

  constructor(
    private readonly fetchStatus: () => Promise<WebhookStatus>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Called with each sample's totals. */
  update(stats: WebhookStats): void {
    const section = byId('webhooks');
    section.hidden = stats.endpoints === 0;
    if (stats.endpoints === 0) return;
    const totals = JSON.stringify(stats);
    if (totals === this.lastTotals || this.loading) return;
    this.lastTotals = totals;
    void this.load();
  }

  private async load(): Promise<void> {
    this.loading = true;
    try {
      this.render(await this.fetchStatus());
    } catch (error) {
      byId('webhooks-note').textContent = error instanceof Error ? error.message : String(error);
      this.onError(error);
    } finally {
      this.loading = false;
    }
  }

  private render({ endpoints, stats, deliveries }: WebhookStatus): void {
    byId('webhooks-count').textContent = String(endpoints.length);
    byId('webhooks-note').textContent = '';
    byId('webhooks-totals').textContent = [
      `${formatNumber(stats.delivered)} delivered`,
      `${formatNumber(stats.queued)} queued`,
      `${formatNumber(stats.failedAttempts)} failed attempts`,
      `${formatNumber(stats.failed)} given up`,
      `${formatNumber(stats.dropped)} dropped`,
    ].join(' · ');
    const view = byId('webhooks-table');
    if (deliveries.length === 0) {
      view.replaceChildren(element('div', 'none', 'No deliveries yet.'));
      return;
    }
    const table = element('table');
    const head = element('tr');
    for (const heading of ['Event', 'Room', 'Receiver', 'State', 'Status', 'Attempts', 'Last error', 'Updated']) head.append(element('th', undefined, heading));
    table.append(head);
    for (const delivery of deliveries) {
      const row = element('tr', 'delivery-row');
      row.dataset.event = delivery.event;
      row.dataset.state = delivery.state;
      const state = element('td');
      state.append(element('span', `pill pill-delivery-${delivery.state}`, delivery.state));
      row.append(
        element('td', 'mono', delivery.event),
        element('td', undefined, delivery.room),
        element('td', 'mono', delivery.url),
        state,
        element('td', undefined, delivery.status === null ? '–' : String(delivery.status)),
        element('td', undefined, String(delivery.attempts)),
        element('td', delivery.lastError ? 'error' : 'muted', delivery.lastError ?? '–'),
        element('td', undefined, formatAgo(delivery.updatedAt)),
      );
      table.append(row);
    }
    view.replaceChildren(table);
  }
}
