import { ConfigurationError, type WebhookEndpoint } from '../../lib/index.js';

/** Settings every example reads from the environment, with the defaults of `npm start`. */
export const port = Number(process.env.PORT ?? 3000);
export const host = process.env.HOST ?? '0.0.0.0';
export const dataDirectory = process.env.SYMPHONY_DATA_DIR ?? './.symphony-data';

/**
 * Webhooks from `SYMPHONY_WEBHOOK_URL` and `SYMPHONY_WEBHOOK_SECRET`: one receiver of every event
 * when both are set, none when neither is; one without the other is a mistake worth stopping for.
 */
export function webhooksFromEnvironment(): WebhookEndpoint[] {
  const url = process.env.SYMPHONY_WEBHOOK_URL;
  const secret = process.env.SYMPHONY_WEBHOOK_SECRET;
  if (!url && !secret) return [];
  if (!url || !secret) throw new ConfigurationError('SYMPHONY_WEBHOOK_URL and SYMPHONY_WEBHOOK_SECRET must be set together');
  return [{ url, secret }];
}
