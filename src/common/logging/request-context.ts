import { AsyncLocalStorage } from 'node:async_hooks';

/** Correlation data carried through everything a request or a reconcile does. */
export interface LogContext {
  requestId?: string;
  reconcileId?: string;
  [key: string]: string | undefined;
}

const storage = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** Runs `fn` outside any request's context (background work started by a request). */
export function runDetached<T>(fn: () => T): T {
  return storage.exit(fn);
}
