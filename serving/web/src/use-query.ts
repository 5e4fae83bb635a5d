import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export type QueryState<T> =
  | { status: 'loading'; data?: T }
  | { status: 'ok'; data: T }
  | { status: 'error'; error: ApiError; data?: T };

/**
 * Runs `load` whenever `key` changes (the request's identity, e.g. its URL), cancelling the
 * previous one; `refreshMs` runs it again on a timer while the page is visible. The last data
 * stays shown while a new answer loads.
 */
export function useQuery<T>(
  key: string | undefined,
  load: (signal: AbortSignal) => Promise<T>,
  refreshMs?: number,
): [QueryState<T>, () => void] {
  const [state, setState] = useState<QueryState<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (key === undefined) return;
    let controller = new AbortController();
    const run = (quiet: boolean) => {
      controller.abort();
      controller = new AbortController();
      const signal = controller.signal;
      if (!quiet) setState((s) => ({ status: 'loading', ...(s.data !== undefined ? { data: s.data } : {}) }));
      load(signal).then(
        (data) => {
          if (!signal.aborted) setState({ status: 'ok', data });
        },
        (error: unknown) => {
          if (signal.aborted) return;
          const apiError =
            error instanceof ApiError
              ? error
              : new ApiError(0, 'client', `Something went wrong: ${String(error)}`);
          setState((s) => ({
            status: 'error',
            error: apiError,
            ...(s.data !== undefined ? { data: s.data } : {}),
          }));
        },
      );
    };
    run(false);
    const timer = refreshMs
      ? setInterval(() => {
          if (document.visibilityState === 'visible') run(true);
        }, refreshMs)
      : undefined;
    return () => {
      controller.abort();
      if (timer) clearInterval(timer);
    };
  }, [key, attempt, refreshMs]);
  return [state, () => setAttempt((a) => a + 1)];
}
