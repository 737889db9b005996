/** A wait that took longer than it was given. */
export class TimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} took longer than ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * `work`, or a `TimeoutError` once `timeoutMs` passed. The work itself goes on: the caller decides
 * what to do with its eventual result (see `onLateResult`).
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, operation: string, onLateResult?: (result: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new TimeoutError(operation, timeoutMs));
    }, timeoutMs);
    work.then(
      (result) => {
        clearTimeout(timer);
        if (timedOut) onLateResult?.(result);
        else resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!timedOut) reject(error);
      },
    );
  });
}
