import type { Dict, ManagementApi, ReadOptions, WatchEvent } from './management-client';
import { ManagementApiError } from './management-client';

export interface InformerHandler {
  /** After every (re)list: the complete current set; objects missing from it are gone. */
  replaced(items: readonly Dict[], initial: boolean): void;
  /** A live change. */
  changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Dict): void;
}

export interface InformerOptions {
  /** Relist everything this often, in case a change was missed. */
  readonly resyncMs: number;
  readonly log: (entry: Record<string, unknown>) => void;
  /** Clock and sleep, injectable for small tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** List and watch `PartialObjectMetadata` only (see ReadOptions). */
  readonly metadataOnly?: boolean;
  /** Watch `timeoutSeconds`, picked per watch; default 240-480 s. */
  readonly watchTimeoutSeconds?: () => number;
}

const MAX_BACKOFF_MS = 30_000;

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * List + watch of one collection, the way client-go's reflector does it:
 * list, then watch from the list's resourceVersion; every event moves the
 * resourceVersion on; a clean end or a broken connection resumes the watch
 * from the last one (broken connections with backoff 1 s → 30 s, reset by any
 * event); `410 Expired` — as an ERROR event in the stream or as HTTP 410 —
 * relists. A failed list never reports objects as gone.
 */
export class Informer {
  private readonly abort = new AbortController();
  private resourceVersion: string | undefined;
  private lastListAt = 0;
  private listed = false;
  private running: Promise<void> | undefined;
  /** Counters, for tests and logs. */
  readonly stats = { lists: 0, watches: 0, expired: 0, failures: 0 };

  constructor(
    private readonly api: ManagementApi,
    private readonly path: string,
    private readonly query: Record<string, string>,
    private readonly handler: InformerHandler,
    private readonly options: InformerOptions,
  ) {}

  get hasSynced(): boolean {
    return this.listed;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private readOptions(): ReadOptions {
    return { metadataOnly: this.options.metadataOnly === true };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async loop(): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    let backoffMs = 0;
    while (!this.abort.signal.aborted) {
      // Any event received resets the backoff, even on a stream that then broke.
      let sawEvent = false;
      try {
        if (
          this.resourceVersion === undefined ||
          this.now() - this.lastListAt >= this.options.resyncMs
        ) {
          await this.list();
          backoffMs = 0;
        }
        this.stats.watches++;
        let expired = false;
        let streamError: string | undefined;
        await this.api.watch(
          this.path,
          {
            ...this.query,
            resourceVersion: this.resourceVersion ?? '',
            allowWatchBookmarks: 'true',
            timeoutSeconds: String(
              this.options.watchTimeoutSeconds?.() ?? 240 + Math.floor(Math.random() * 240),
            ),
          },
          (event) => {
            if (this.abort.signal.aborted) {
              return false;
            }
            if (event.type === 'ERROR') {
              expired = isExpired(event);
              if (!expired) {
                streamError = statusMessage(event);
              }
              return false;
            }
            sawEvent = true;
            this.apply(event);
            return true;
          },
          this.abort.signal,
          this.readOptions(),
        );
        if (sawEvent) {
          backoffMs = 0;
        }
        if (expired) {
          this.expire();
        } else if (streamError !== undefined) {
          throw new ManagementApiError(`watch ${this.path}: ${streamError}`);
        }
      } catch (error) {
        if (this.abort.signal.aborted) {
          break;
        }
        if (error instanceof ManagementApiError && error.status === 410) {
          this.expire();
          continue;
        }
        this.stats.failures++;
        if (sawEvent) {
          backoffMs = 0;
        }
        backoffMs = Math.min(Math.max(backoffMs * 2, 1000), MAX_BACKOFF_MS);
        this.options.log({
          msg: 'Cluster API watch interrupted; resuming',
          path: this.path,
          error: error instanceof Error ? error.message : String(error),
          retryInMs: backoffMs,
        });
        await sleep(backoffMs, this.abort.signal);
      }
    }
  }

  private expire(): void {
    this.stats.expired++;
    this.options.log({
      msg: 'Cluster API watch expired (410); relisting',
      path: this.path,
    });
    this.resourceVersion = undefined;
  }

  private async list(): Promise<void> {
    this.stats.lists++;
    const result = await this.api.list(
      this.path,
      this.query,
      this.abort.signal,
      this.readOptions(),
    );
    this.resourceVersion = result.resourceVersion;
    this.lastListAt = this.now();
    const initial = !this.listed;
    this.listed = true;
    this.handler.replaced(result.items, initial);
  }

  private apply(event: WatchEvent): void {
    const meta = event.object.metadata as { resourceVersion?: unknown } | undefined;
    const rv = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
    if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
      this.handler.changed(event.type, event.object);
    }
    if (rv !== undefined && rv !== '') {
      this.resourceVersion = rv;
    }
  }
}

function isExpired(event: WatchEvent): boolean {
  const o = event.object as { code?: unknown; reason?: unknown };
  return o.code === 410 || o.reason === 'Expired' || o.reason === 'Gone';
}

function statusMessage(event: WatchEvent): string {
  const o = event.object as { message?: unknown; code?: unknown };
  return `${typeof o.message === 'string' ? o.message.slice(0, 300) : 'error event'} (${String(o.code)})`;
}
