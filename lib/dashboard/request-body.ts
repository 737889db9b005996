import type { IncomingMessage } from 'node:http';
import { BadRequestError, type DashboardRequest } from './http.js';

/** The body is larger than the route accepts: answered 413 before more of it is buffered. */
export class PayloadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the request body is larger than ${maxBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** The body cannot be read as the route needs it (wrong content type, read by other middleware): a 400 or 415. */
export class UnreadableBodyError extends Error {
  constructor(
    readonly status: 400 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'UnreadableBodyError';
  }
}

/** The media type of a request, lower case, without parameters (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
}

/**
 * The whole body, at most `maxBytes`: a declared `content-length` above it is refused before
 * anything is read, and a body streaming past it stops being buffered at once. A body a body
 * parser (e.g. `express.raw()`) already read is taken from `request.body` when it is a Buffer.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
  const parsed = (request as IncomingMessage & { body?: unknown }).body;
  if (Buffer.isBuffer(parsed)) {
    if (parsed.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes);
    return parsed;
  }
  if (request.readableEnded) {
    throw new UnreadableBodyError(400, 'the request body was already read by another middleware: mount the dashboard before body parsers');
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.byteLength;
      if (received > maxBytes) {
        cleanup();
        chunks.length = 0;
        // The rest is read and discarded, so the 413 can still be written on this connection.
        request.resume();
        reject(new PayloadTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, received));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/** Bodies of dashboard actions are a few ids; anything larger is not one of them. */
const MAX_BODY_BYTES = 16_384;

/**
 * A request's JSON body, or undefined when it has none. A body the host app's own middleware
 * already parsed (`express.json()`, koa-bodyparser) is taken as parsed; otherwise the stream is
 * read here. Malformed JSON or an oversized body is a `BadRequestError` (400).
 */
export async function readJsonBody(request: DashboardRequest): Promise<unknown> {
  if (request.parsedBody !== undefined) return isEmptyObject(request.parsedBody) ? undefined : request.parsedBody;
  const raw = request.raw;
  if (raw.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of raw) {
    bytes += (chunk as Buffer).byteLength;
    if (bytes > MAX_BODY_BYTES) throw new BadRequestError(`request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('request body is not valid JSON');
  }
}

// Body parsers leave `{}` for a request without a body.
function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
