/** Webhook events and delivery records as they travel: to receivers, and to the dashboard page, which imports these types. */
/** The events a webhook can subscribe to, in the order the README lists them. */
export const webhookEventTypes = [
  'room.loaded',
  'room.unloaded',
  'document.updated',
  'document.stored',
  'user.joined',
  'user.left',
  'version.created',
  'room.deleted',
] as const;

/** The name of one webhook event, such as `document.updated`. */
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** The `data` of each event type; every one names its room. */
export interface WebhookEventData {
  'room.loaded': { room: string; documentBytes: number };
  'room.unloaded': { room: string };
  /** `stateVector` is the document's Yjs state vector, base64: fetch `GET /api/rooms/:room/update?stateVector=` with the previous one to get what changed. */
  'document.updated': { room: string; documentBytes: number; stateVector: string };
  'document.stored': { room: string; bytes: number; durationMs: number };
  'user.joined': { room: string; userId: string; connectionId: string; readOnly: boolean };
  'user.left': { room: string; userId: string; connectionId: string; code: number; reason: string };
  'version.created': { room: string; versionId: string; kind: 'auto' | 'named'; name: string | null; createdBy: string | null; createdAt: string; bytes: number };
  'room.deleted': { room: string };
}

/** The JSON body of a webhook request. `id` stays the same across retries: receivers de-duplicate by it. */
export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  readonly id: string;
  readonly type: T;
  /** ISO 8601, when the event happened (not when this attempt was sent). */
  readonly createdAt: string;
  readonly data: WebhookEventData[T];
}

/** One configured receiver. */
export interface WebhookEndpoint {
  /** Where events are POSTed (http or https). */
  url: string;
  /** Signs every request (`Symphony-Signature`); at least 16 characters, shared with the receiver only. */
  secret: string;
  /** The event types to send. @default every type */
  events?: readonly WebhookEventType[];
}

/** How one delivery (an event to one endpoint) stands. */
export type WebhookDeliveryState = 'pending' | 'retrying' | 'delivered' | 'failed' | 'dropped';

/** A recent delivery, as `GET /api/webhooks` and the dashboard show it. */
export interface WebhookDeliveryRecord {
  readonly eventId: string;
  readonly event: WebhookEventType;
  readonly room: string;
  readonly url: string;
  readonly state: WebhookDeliveryState;
  /** HTTP status of the last attempt; null before the first answer or after a timeout or network error. */
  readonly status: number | null;
  readonly attempts: number;
  readonly lastError: string | null;
  /** ISO 8601 of the last change of state. */
  readonly updatedAt: string;
}

/** Totals since start: they only grow, except `queued`. */
export interface WebhookStats {
  readonly endpoints: number;
  /** Deliveries waiting to be sent or retried. */
  readonly queued: number;
  readonly delivered: number;
  /** Attempts answered by a non-2xx status, a timeout or a network error (each is retried). */
  readonly failedAttempts: number;
  /** Deliveries given up after retrying for `retryForMs`. */
  readonly failed: number;
  /** Deliveries dropped, oldest first, because the queue was full. */
  readonly dropped: number;
}

/** `symphony.webhooks()`: the configured endpoints (without secrets), totals and recent deliveries, newest first. */
export interface WebhookStatus {
  readonly endpoints: readonly { readonly url: string; readonly events: readonly WebhookEventType[] }[];
  readonly stats: WebhookStats;
  readonly deliveries: readonly WebhookDeliveryRecord[];
}
