import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** Everything the server sent before it closed the socket. */
  readonly response: string;
  /** The status code of the HTTP answer, or null if there was none. */
  readonly status: number | null;
}

/** A WebSocket handshake's headers as a browser sends them (valid key and version). */
export function upgradeHeaders(path: string, port: number, extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  const lines = Object.entries(headers)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Sends `request` as raw bytes, as an attacker's script would, and resolves once the server closed
 * the socket; rejects if it is still open after `timeoutMs`.
 */
export function rawExchange(port: number, request: string, timeoutMs = 5_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server left the socket open for ${timeoutMs} ms after: ${request.split('\r\n', 1)[0]}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const response = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({ response, status: match ? Number(match[1]) : null });
    });
  });
}
