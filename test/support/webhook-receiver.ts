import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook, type WebhookEvent } from '../../lib/index.js';
import { waitFor } from './wait-for.js';

export const WEBHOOK_SECRET = 'webhook-test-secret-0123456789';

/** One request the receiver got, with its signature checked by `verifyWebhook` against the raw bytes. */
export interface ReceivedWebhook {
  readonly event: WebhookEvent;
  readonly rawBody: Buffer;
  readonly signature: string | undefined;
  readonly verified: boolean;
  /** The status the receiver answered with (0 while held). */
  status: number;
}

/**
 * A real webhook receiver on 127.0.0.1: records every request and answers with what `respond`
 * says (a status, or `'hold'` to answer only when `release()` is called). 200 by default.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  respond: (event: WebhookEvent, attempt: number) => number | 'hold' = () => 200;
  private readonly held: { response: ServerResponse; request: ReceivedWebhook }[] = [];
  private readonly attempts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(path = '/hooks/symphony'): Promise<WebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => void receiver.handle(request, response));
    return receiver;
  }

  /** The events received of one type, in order of arrival (retries included). */
  ofType(type: WebhookEvent['type']): ReceivedWebhook[] {
    return this.received.filter((request) => request.event.type === type);
  }

  async next(predicate: (request: ReceivedWebhook) => boolean, description: string, timeoutMs = 5_000): Promise<ReceivedWebhook> {
    await waitFor(() => this.received.some(predicate), description, timeoutMs);
    return this.received.find(predicate) as ReceivedWebhook;
  }

  /** Answers every held request with `status`. */
  release(status = 200): void {
    for (const { response, request } of this.held.splice(0)) {
      request.status = status;
      response.writeHead(status).end();
    }
  }

  get heldCount(): number {
    return this.held.length;
  }

  async close(): Promise<void> {
    this.release(503);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const signature = request.headers['symphony-signature'] as string | undefined;
    const event = JSON.parse(rawBody.toString('utf8')) as WebhookEvent;
    const received: ReceivedWebhook = { event, rawBody, signature, verified: verifyWebhook(rawBody, signature, WEBHOOK_SECRET), status: 0 };
    this.received.push(received);
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    const answer = this.respond(event, attempt);
    if (answer === 'hold') {
      this.held.push({ response, request: received });
      return;
    }
    received.status = answer;
    response.writeHead(answer).end();
  }
}
