import { UnauthorizedError } from './api.js';

export interface StreamEvent {
  readonly type: string;
  readonly data: unknown;
}

export interface EventStreamHandlers {
  onEvent(event: StreamEvent): void;
  onStatus(status: 'connecting' | 'live' | 'offline'): void;
  onUnauthorized(): void;
}

/**
 * Server-Sent Events read with `fetch`, because `EventSource` cannot send an `Authorization`
 * header. It does what `EventSource` does: parses the stream, remembers the last event id,
 * reconnects after the server's `retry:` delay, and sends `Last-Event-ID` so the missed events are
 * replayed. Returns a function that stops it.
 */
export function openEventStream(url: string, token: string, handlers: EventStreamHandlers): () => void {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let retryMs = 2_000;

  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      handlers.onStatus('connecting');
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        if (lastEventId !== null) headers['last-event-id'] = lastEventId;
        const response = await fetch(url, { headers, cache: 'no-store', signal: controller.signal });
        if (response.status === 401) throw new UnauthorizedError();
        if (!response.ok || !response.body) throw new Error(`event stream: ${response.status}`);
        handlers.onStatus('live');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let boundary: RegExpExecArray | null;
          while ((boundary = /\r?\n\r?\n/.exec(buffer)) !== null) {
            const block = buffer.slice(0, boundary.index);
            buffer = buffer.slice(boundary.index + boundary[0].length);
            dispatch(block);
          }
        }
      } catch (error) {
        if (error instanceof UnauthorizedError) {
          handlers.onStatus('offline');
          handlers.onUnauthorized();
          return;
        }
        if (controller.signal.aborted) return;
      }
      handlers.onStatus('offline');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };

  const dispatch = (block: string): void => {
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (data.length === 0) return;
    handlers.onEvent({ type, data: JSON.parse(data.join('\n')) as unknown });
  };

  void run();
  return () => controller.abort();
}
