import { ConfigurationError } from '../errors.js';
import { positiveInteger, urlWithScheme } from '../../util/config-checks.js';
import { webhookEventTypes, type WebhookEndpoint, type WebhookEventType } from './webhook-wire-types.js';

/** Tuning of webhook delivery; every field has a default suited to a production receiver. */
export interface WebhookDeliveryOptions {
  /**
   * Deliveries held at once (waiting to be sent or retried), across endpoints. When full, the
   * oldest is dropped and counted: a receiver that is down for long must not grow the server's
   * memory without bound.
   * @default 10_000
   */
  maxQueuedDeliveries?: number;
  /**
   * Requests in flight at once. A few suffice for the event rates a server produces, and a slow
   * receiver then cannot tie up many sockets.
   * @default 4
   */
  concurrency?: number;
  /**
   * How long one request may take, in milliseconds, before it counts as failed and is retried.
   * @default 10_000
   */
  requestTimeoutMs?: number;
  /**
   * Wait before the first retry, in milliseconds; each further retry waits twice as long, up to
   * `maxRetryDelayMs`. Short enough that a receiver's brief restart costs seconds, not minutes.
   * @default 10_000
   */
  initialRetryDelayMs?: number;
  /**
   * Longest wait between two retries, in milliseconds.
   * @default 600_000 (10 minutes)
   */
  maxRetryDelayMs?: number;
  /**
   * How long after an event its delivery is still retried, in milliseconds; after that it is given
   * up and counted as failed. An hour covers a receiver's deploy or a short outage.
   * @default 3_600_000 (1 hour)
   */
  retryForMs?: number;
  /**
   * `document.updated` is sent at most once per room per this many milliseconds (with the state at
   * the end of the interval): a busy room changes many times a second, and a receiver wants to know
   * that it changed, not each keystroke.
   * @default 10_000
   */
  documentUpdatedIntervalMs?: number;
  /**
   * How long `symphony.close()` waits for queued deliveries to be sent, in milliseconds; what is
   * still queued then is dropped, so a dead receiver cannot hold up a shutdown.
   * @default 5_000
   */
  closeTimeoutMs?: number;
}

export interface ResolvedWebhookOptions extends Readonly<Required<WebhookDeliveryOptions>> {
  readonly endpoints: readonly ResolvedWebhookEndpoint[];
}

export interface ResolvedWebhookEndpoint {
  readonly url: string;
  readonly secret: string;
  readonly events: ReadonlySet<WebhookEventType>;
}

/** The delivery settings `WebhookDeliveryOptions` leaves out take these (reasons at each field). */
export const defaultWebhookDelivery: Readonly<Required<WebhookDeliveryOptions>> = Object.freeze({
  maxQueuedDeliveries: 10_000,
  concurrency: 4,
  requestTimeoutMs: 10_000,
  initialRetryDelayMs: 10_000,
  maxRetryDelayMs: 600_000,
  retryForMs: 3_600_000,
  documentUpdatedIntervalMs: 10_000,
  closeTimeoutMs: 5_000,
});

/** A secret shorter than this can be guessed offline from one signed request. */
const MIN_SECRET_LENGTH = 16;

/** Validates `webhooks` and `webhookDelivery` and applies their defaults; throws a `ConfigurationError` naming the first invalid field. */
export function resolveWebhookOptions(endpoints: readonly WebhookEndpoint[] | undefined, delivery: WebhookDeliveryOptions | undefined): ResolvedWebhookOptions {
  if (endpoints !== undefined && !Array.isArray(endpoints)) throw new ConfigurationError('"webhooks" must be an array of { url, secret, events? }');
  const resolved = (endpoints ?? []).map((endpoint, index) => resolveEndpoint(endpoint, `webhooks[${index}]`));
  const settings = { ...defaultWebhookDelivery, ...delivery };
  for (const [name, value] of Object.entries(settings)) positiveInteger(`webhookDelivery.${name}`, value);
  if (settings.maxRetryDelayMs < settings.initialRetryDelayMs) {
    throw new ConfigurationError(`"webhookDelivery.maxRetryDelayMs" (${settings.maxRetryDelayMs}) must not be below "webhookDelivery.initialRetryDelayMs" (${settings.initialRetryDelayMs})`);
  }
  return { ...settings, endpoints: resolved };
}

function resolveEndpoint(endpoint: WebhookEndpoint, name: string): ResolvedWebhookEndpoint {
  if (typeof endpoint !== 'object' || endpoint === null) throw new ConfigurationError(`"${name}" must be an object { url, secret, events? }`);
  if (typeof endpoint.url !== 'string') throw new ConfigurationError(`"${name}.url" must be a string`);
  urlWithScheme(`"${name}.url"`, endpoint.url, ['http:', 'https:'], 'https://example.com/hooks/symphony');
  if (typeof endpoint.secret !== 'string' || endpoint.secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigurationError(`"${name}.secret" must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
  const events = endpoint.events ?? webhookEventTypes;
  if (!Array.isArray(events) || events.length === 0) throw new ConfigurationError(`"${name}.events" must be a non-empty array of event names`);
  for (const event of events) {
    if (!webhookEventTypes.includes(event)) {
      throw new ConfigurationError(`"${name}.events" names an unknown event ${JSON.stringify(event)}; known events: ${webhookEventTypes.join(', ')}`);
    }
  }
  return { url: endpoint.url, secret: endpoint.secret, events: new Set(events) };
}
