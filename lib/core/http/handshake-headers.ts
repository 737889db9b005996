import type { IncomingMessage } from 'node:http';

/** Why an upgrade request is not a valid WebSocket handshake: the HTTP answer it gets. */
export interface HandshakeHeaderProblem {
  readonly status: 400 | 405;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

// RFC 6455 4.1: a base64-encoded 16-byte nonce.
const KEY = /^[+/0-9A-Za-z]{22}==$/;
// RFC 7230 3.2.6: a token, which each offered subprotocol must be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Checks the request the way `ws` will when the socket is opened, so that a request `ws` would
 * refuse is refused before anything is allocated for it (an `authenticate` call, a room load).
 * Null when the handshake is valid.
 */
export function handshakeHeaderProblem(request: IncomingMessage): HandshakeHeaderProblem | null {
  if (request.method !== 'GET') return { status: 405, message: 'invalid HTTP method' };
  const upgrade = request.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') return { status: 400, message: 'invalid Upgrade header' };
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return { status: 400, message: 'missing or invalid Sec-WebSocket-Key header' };
  const version = Number(request.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return { status: 400, message: 'missing or invalid Sec-WebSocket-Version header', headers: { 'Sec-WebSocket-Version': '13, 8' } };
  }
  const protocols = request.headers['sec-websocket-protocol'];
  if (protocols !== undefined && !validProtocolList(protocols)) return { status: 400, message: 'invalid Sec-WebSocket-Protocol header' };
  return null;
}

function validProtocolList(header: string): boolean {
  const seen = new Set<string>();
  for (const entry of header.split(',')) {
    const protocol = entry.trim();
    if (!TOKEN.test(protocol) || seen.has(protocol)) return false;
    seen.add(protocol);
  }
  return true;
}
