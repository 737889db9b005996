import { BadRequestError, type DashboardRequest } from './http.js';

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
