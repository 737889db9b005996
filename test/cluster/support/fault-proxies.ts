import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

const PRECONDITION_FAILED = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><RequestId>conditional-s3</RequestId></Error>`;

const unquoted = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

async function listen(server: Server | TcpServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `{ bucket, key }` of a path-style object request without sub-resources (`?uploads`, `?tagging`...); null otherwise. */
function objectOf(url: string | undefined): { bucket: string; key: string } | null {
  const [path, query] = (url ?? '/').split('?', 2);
  if (query && query.split('&').some((pair) => !pair.startsWith('x-id='))) return null;
  const [, bucket, ...rest] = path.split('/');
  if (!bucket || rest.length === 0 || rest.join('') === '') return null;
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/') };
}

/**
 * One way into a `ConditionalS3` (one per node), whose object writes can be held back: a writer
 * whose request is slow or paused until the test lets it through.
 */
export class S3Entrance {
  private holding = false;
  private held: (() => void)[] = [];

  constructor(readonly url: string) {}

  /** Writes arriving from now on wait until `releaseWrites`. */
  holdWrites(): void {
    this.holding = true;
  }

  releaseWrites(): void {
    this.holding = false;
    for (const release of this.held.splice(0)) release();
  }

  /** Document writes waiting at this entrance. */
  get heldWrites(): number {
    return this.held.length;
  }

  /** Resolves when this entrance lets the write through. */
  admit(): Promise<void> {
    if (!this.holding) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }
}

/**
 * An HTTP proxy in front of s3rver that enforces `If-Match` and `If-None-Match: *` on object
 * writes as S3 does (s3rver ignores both), answering 412 `PreconditionFailed` when they do not
 * hold. Writes of one key are serialized, so the check and the write are one step, as in S3.
 */
export class ConditionalS3 {
  /** Writes refused with 412 so far. */
  refused = 0;
  private readonly servers: Server[] = [];
  private readonly keyQueues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly upstreamPort: number,
    /** A client of s3rver itself, to read an object's current ETag. */
    private readonly upstream: S3Client,
  ) {}

  /** A new entrance (its own port) into the proxy. */
  async entrance(): Promise<S3Entrance> {
    let entrance: S3Entrance | null = null;
    const server = createServer((request, response) => {
      this.handle(entrance!, request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(502);
        response.end(String(error));
      });
    });
    this.servers.push(server);
    entrance = new S3Entrance(`http://127.0.0.1:${await listen(server)}`);
    return entrance;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  }

  private async handle(entrance: S3Entrance, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const object = objectOf(request.url);
    if (!object || (request.method !== 'PUT' && request.method !== 'DELETE')) return this.forward(request, body, response);
    // Only document checkpoints are held back: a version written after the previous checkpoint must
    // not take the place of the checkpoint the test is waiting for.
    if (request.method === 'PUT' && !object.key.includes('versions/')) await entrance.admit();
    await this.exclusive(`${object.bucket}/${object.key}`, async () => {
      if (request.method === 'PUT' && !(await this.conditionsHold(object, request))) {
        this.refused++;
        response.writeHead(412, { 'content-type': 'application/xml' });
        response.end(PRECONDITION_FAILED);
        return;
      }
      await this.forward(request, body, response);
    });
  }

  private async conditionsHold(object: { bucket: string; key: string }, request: IncomingMessage): Promise<boolean> {
    const ifMatch = request.headers['if-match'];
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifMatch === undefined && ifNoneMatch === undefined) return true;
    const current = await this.currentETag(object);
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() === '*' && current !== null) return false;
    if (ifMatch !== undefined && (current === null || unquoted(ifMatch) !== unquoted(current))) return false;
    return true;
  }

  private async currentETag(object: { bucket: string; key: string }): Promise<string | null> {
    try {
      return (await this.upstream.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }))).ETag ?? null;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw error;
    }
  }

  private exclusive(key: string, step: () => Promise<void>): Promise<void> {
    const previous = this.keyQueues.get(key) ?? Promise.resolve();
    const next = previous.then(step, step);
    this.keyQueues.set(key, next.catch(() => undefined));
    return next;
  }

  /** Sends the request on to s3rver unchanged (its signature covers the original Host) and relays the whole answer. */
  private async forward(request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> {
    const upstream = httpRequest({ host: '127.0.0.1', port: this.upstreamPort, method: request.method, path: request.url, headers: request.headers });
    upstream.end(body);
    const [answer] = (await once(upstream, 'response')) as [IncomingMessage];
    const answerBody = await readBody(answer);
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    response.end(answerBody);
  }
}

/**
 * A TCP relay to a service that can be made to hang: every connection then stays open but carries
 * nothing, as when a node is cut off from the service by the network.
 */
export class TcpRelay {
  private hanging = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: TcpServer,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    let relay: TcpRelay | null = null;
    const server = createTcpServer((client) => relay!.accept(client, targetPort));
    relay = new TcpRelay(server, await listen(server));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every connection, open or new, stops carrying data. */
  hang(): void {
    this.hanging = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** New connections carry data again; the hung ones are closed (clients open new ones). */
  restore(): void {
    this.hanging = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.restore();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, targetPort: number): void {
    client.on('error', () => undefined);
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    if (this.hanging) {
      client.pause();
      return;
    }
    const service = connect(targetPort, '127.0.0.1');
    service.on('error', () => client.destroy());
    this.sockets.add(service);
    service.once('close', () => {
      this.sockets.delete(service);
      client.destroy();
    });
    client.once('close', () => service.destroy());
    client.pipe(service);
    service.pipe(client);
  }
}
