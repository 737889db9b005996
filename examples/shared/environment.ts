import { ConfigurationError, type WebhookEndpoint } from '../../lib/index.js';

/** Settings every example reads from the environment, with the defaults of `npm start`. */
export const port = Number(process.env.PORT ?? 3000);
export const host = process.env.HOST ?? '0.0.0.0';
export const dataDirectory = process.env.SYMPHONY_DATA_DIR ?? './.symphony-data';

/**
 * `SYMPHONY_ALLOWED_ORIGINS`: browser origins besides the app's own that may open its WebSockets,
 * comma-separated (`https://app.example.com,https://admin.example.com`), or `*` for any. Unset:
 * same origin only.
 */
export const allowedOrigins: readonly string[] | '*' | undefined = parseAllowedOrigins(process.env.SYMPHONY_ALLOWED_ORIGINS);

function parseAllowedOrigins(value: string | undefined): readonly string[] | '*' | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value.trim() === '*') return '*';
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}

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
