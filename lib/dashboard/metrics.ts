import type { Registry } from 'prom-client';
import type { DashboardStats } from './stats.js';

interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: (stats: DashboardStats) => number;
}

/** The dashboard's figures for Prometheus; `node_id` is added to every series. */
const definitions: readonly MetricDefinition[] = [
  { name: 'symphony_rooms_loaded', help: 'Rooms loaded on this node', type: 'gauge', value: (s) => s.rooms },
  { name: 'symphony_connections', help: 'Open client connections', type: 'gauge', value: (s) => s.connections },
  { name: 'symphony_messages_received_total', help: 'WebSocket messages received from clients', type: 'counter', value: (s) => s.messages.in },
  { name: 'symphony_messages_sent_total', help: 'WebSocket messages sent to clients', type: 'counter', value: (s) => s.messages.out },
  { name: 'symphony_connections_opened_total', help: 'Connections accepted', type: 'counter', value: (s) => s.connectionsOpened },
  { name: 'symphony_connections_rejected_total', help: 'Connections refused (authentication, limits, shutdown)', type: 'counter', value: (s) => s.connectionsRejected },
  { name: 'symphony_protocol_errors_total', help: 'Connections closed for a protocol error', type: 'counter', value: (s) => s.protocolErrors },
  { name: 'symphony_read_only_updates_dropped_total', help: 'Document updates from read-only connections, dropped', type: 'counter', value: (s) => s.droppedReadOnlyUpdates },
  { name: 'symphony_room_load_failures_total', help: 'Rooms whose state could not be loaded', type: 'counter', value: (s) => s.roomLoadFailures },
  { name: 'symphony_checkpoints_total', help: 'Checkpoints written to the document store', type: 'counter', value: (s) => s.checkpoints.written },
  { name: 'symphony_checkpoint_failures_total', help: 'Checkpoints that failed (each is retried)', type: 'counter', value: (s) => s.checkpoints.failed },
  { name: 'symphony_rooms_damaged', help: 'Loaded rooms served from damaged storage (damaged bytes quarantined)', type: 'gauge', value: (s) => s.storage.roomsDamaged },
  { name: 'symphony_rooms_unwritable', help: 'Loaded rooms whose updates the store cannot write (refused until it recovers)', type: 'gauge', value: (s) => s.storage.roomsUnwritable },
  { name: 'symphony_storage_damage_found_total', help: 'Damaged stored files found while loading rooms', type: 'counter', value: (s) => s.storage.damageFound },
  { name: 'symphony_updates_refused_unwritable_total', help: 'Client updates refused because the room could not be written', type: 'counter', value: (s) => s.storage.updatesRefused },
  { name: 'symphony_metadata_writes_total', help: 'Room and session records written to the metadata store', type: 'counter', value: (s) => s.metadata.written },
  { name: 'symphony_metadata_write_failures_total', help: 'Failed metadata write attempts (each is retried)', type: 'counter', value: (s) => s.metadata.writeFailures },
  { name: 'symphony_metadata_writes_dropped_total', help: 'Metadata records dropped because the write queue was full', type: 'counter', value: (s) => s.metadata.dropped },
  { name: 'symphony_metadata_queue_length', help: 'Metadata records waiting to be written', type: 'gauge', value: (s) => s.metadata.queued },
  { name: 'symphony_metadata_healthy', help: '1 while metadata writes succeed, 0 while they fail', type: 'gauge', value: (s) => (s.metadata.healthy ? 1 : 0) },
  { name: 'symphony_resident_memory_bytes', help: 'Resident set size of the process', type: 'gauge', value: (s) => s.memory.rssBytes },
  { name: 'symphony_heap_used_bytes', help: 'V8 heap in use', type: 'gauge', value: (s) => s.memory.heapUsedBytes },
  { name: 'symphony_uptime_seconds', help: 'Seconds since Symphony started', type: 'gauge', value: (s) => s.uptimeMs / 1000 },
  { name: 'symphony_webhook_deliveries_total', help: 'Webhook deliveries a receiver accepted (2xx)', type: 'counter', value: (s) => s.webhooks.delivered },
  { name: 'symphony_webhook_failed_attempts_total', help: 'Webhook attempts that failed (non-2xx, timeout, network error; each is retried)', type: 'counter', value: (s) => s.webhooks.failedAttempts },
  { name: 'symphony_webhook_deliveries_failed_total', help: 'Webhook deliveries given up after retrying', type: 'counter', value: (s) => s.webhooks.failed },
  { name: 'symphony_webhook_deliveries_dropped_total', help: 'Webhook deliveries dropped because the queue was full or at shutdown', type: 'counter', value: (s) => s.webhooks.dropped },
  { name: 'symphony_webhook_queue_length', help: 'Webhook deliveries waiting to be sent or retried', type: 'gauge', value: (s) => s.webhooks.queued },
  { name: 'symphony_dashboard_event_clients', help: 'Open dashboard event streams', type: 'gauge', value: (s) => s.eventStreamClients },
];

/**
 * Renders the dashboard's stats in the Prometheus text format with prom-client, an optional peer
 * dependency imported on the first scrape. The registry is private: the host app's own default
 * registry is left alone.
 */
export class MetricsExporter {
  private registry: Promise<{ registry: Registry; snapshot: { stats: DashboardStats | null } }> | null = null;

  constructor(
    private readonly nodeId: string,
    private readonly stats: () => DashboardStats,
  ) {}

  /** The exposition text and its content type; rejects when prom-client is not installed. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.registry ??= this.createRegistry().catch((error: unknown) => {
      this.registry = null;
      throw error;
    });
    const { registry, snapshot } = await this.registry;
    // One snapshot per scrape, so every series of a scrape describes the same instant.
    snapshot.stats = this.stats();
    try {
      return { contentType: registry.contentType, body: await registry.metrics() };
    } finally {
      snapshot.stats = null;
    }
  }

  private async createRegistry(): Promise<{ registry: Registry; snapshot: { stats: DashboardStats | null } }> {
    const client = await import('prom-client');
    const registry = new client.Registry();
    registry.setDefaultLabels({ node_id: this.nodeId });
    const snapshot: { stats: DashboardStats | null } = { stats: null };
    for (const definition of definitions) {
      const read = () => (snapshot.stats ? definition.value(snapshot.stats) : 0);
      if (definition.type === 'gauge') {
        new client.Gauge({ name: definition.name, help: definition.help, registers: [registry], collect() { this.set(read()); } });
      } else {
        // Symphony's counters are the source of truth; the prom-client counter mirrors them at each scrape.
        new client.Counter({ name: definition.name, help: definition.help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
      }
    }
    return { registry, snapshot };
  }
}
