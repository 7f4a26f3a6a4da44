/**
 * Per-call options that bind a client-node request to an AbortSignal, so a hung apiserver call
 * cannot outlive a deadline (a lease renewal must give up before the lease expires).
 *
 * client-node 2.x has no per-call timeout; its RequestContext has setSignal(), reachable only
 * through a middleware. The ObjectParamAPI passes call-time middleware through wrapOptions()
 * like setHeaderOptions() does, so this one has the same shape as client-node's own
 * setHeaderMiddleware (middleware.js): `pre` mutates the context and returns it.
 */
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

export function withSignal(signal: AbortSignal): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (request: RequestContext) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  // 'append' keeps the middleware KubeConfig installed (authentication) in front of ours.
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/**
 * Rejects when `signal` aborts even if the call ignores it (a fake in tests, or an API that
 * does not pass the signal down), so a deadline holds in every case.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(asError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(asError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(err));
      },
    );
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * An AbortSignal that aborts with a TimeoutError after `ms`, as AbortSignal.timeout() does, but
 * on the global setTimeout (which jest's fake timers drive) and cancellable with `clear()`.
 */
export function timeoutSignal(ms: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')),
    ms,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
