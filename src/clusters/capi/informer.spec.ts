import { describe, expect, it } from 'vitest';
import { Informer } from './informer';
import {
  type Dict,
  type ListResult,
  type ManagementApi,
  ManagementApiError,
  type WatchEvent,
} from './management-client';

const obj = (name: string, rv: string): Dict => ({
  metadata: { namespace: 'ns', name, resourceVersion: rv },
});

type WatchScript = (query: Record<string, string>) => { events: WatchEvent[]; end?: Error };

/** A scripted management API: lists return the given snapshots, each watch plays the next script. */
class FakeApi implements ManagementApi {
  readonly watches: Record<string, string>[] = [];
  lists = 0;
  constructor(
    private readonly snapshots: ListResult[],
    private readonly scripts: WatchScript[],
    private readonly stop: () => void,
  ) {}
  get(): Promise<Dict | undefined> {
    return Promise.resolve(undefined);
  }
  list(): Promise<ListResult> {
    const snapshot = this.snapshots[Math.min(this.lists, this.snapshots.length - 1)];
    this.lists++;
    return Promise.resolve(snapshot);
  }
  watch(
    _path: string,
    query: Record<string, string>,
    onEvent: (e: WatchEvent) => boolean,
  ): Promise<void> {
    this.watches.push(query);
    const script = this.scripts[this.watches.length - 1];
    if (script === undefined) {
      this.stop();
      return Promise.resolve();
    }
    const { events, end } = script(query);
    for (const e of events) {
      if (!onEvent(e)) {
        return Promise.resolve();
      }
    }
    return end === undefined ? Promise.resolve() : Promise.reject(end);
  }
}

async function run(snapshots: ListResult[], scripts: WatchScript[]) {
  const seen: string[] = [];
  const sleeps: number[] = [];
  const holder: { sut?: Informer } = {};
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const api = new FakeApi(snapshots, scripts, () => {
    void holder.sut?.stop().then(done);
  });
  const sut = new Informer(
    api,
    '/apis/cluster.x-k8s.io/v1beta2/clusters',
    {},
    {
      replaced: (items, initial) =>
        seen.push(`list${initial ? '*' : ''}:${items.map((i) => metaName(i)).join(',')}`),
      changed: (type, o) => seen.push(`${type}:${metaName(o)}`),
    },
    {
      resyncMs: 1e9,
      log: () => undefined,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      watchTimeoutSeconds: () => 300,
    },
  );
  holder.sut = sut;
  sut.start();
  await finished;
  return { seen, sleeps, api, sut };
}

const metaName = (o: Dict): string => String((o.metadata as { name?: string }).name);

describe('the Cluster API informer (list + watch)', () => {
  it('lists, then watches from the list resourceVersion and resumes from the last event after a clean end', async () => {
    const { seen, api } = await run(
      [{ items: [obj('a', '5')], resourceVersion: '10' }],
      [
        () => ({ events: [{ type: 'MODIFIED', object: obj('a', '11') }] }),
        () => ({
          events: [
            { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } },
            { type: 'ADDED', object: obj('b', '16') },
          ],
        }),
      ],
    );
    expect(seen).toEqual(['list*:a', 'MODIFIED:a', 'ADDED:b']);
    expect(api.lists).toBe(1);
    expect(api.watches.map((q) => q.resourceVersion)).toEqual(['10', '11', '16']);
    expect(api.watches[0]).toMatchObject({ allowWatchBookmarks: 'true', timeoutSeconds: '300' });
  });

  it('relists after an ERROR event with 410 Expired, and reports the new full set', async () => {
    const { seen, api } = await run(
      [
        { items: [obj('a', '5'), obj('b', '6')], resourceVersion: '10' },
        { items: [obj('b', '30')], resourceVersion: '31' },
      ],
      [
        () => ({
          events: [
            {
              type: 'ERROR',
              object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' },
            },
            { type: 'ADDED', object: obj('never', '99') },
          ],
        }),
      ],
    );
    expect(seen).toEqual(['list*:a,b', 'list:b']);
    expect(api.lists).toBe(2);
    expect(api.watches.map((q) => q.resourceVersion)).toEqual(['10', '31']);
  });

  it('relists after an HTTP 410', async () => {
    const { api } = await run(
      [{ items: [], resourceVersion: '10' }],
      [() => ({ events: [], end: new ManagementApiError('gone', 410, 'Expired') })],
    );
    expect(api.lists).toBe(2);
  });

  it('resumes from the last resourceVersion after a broken connection, with growing backoff reset by events', async () => {
    const broken = (): { events: WatchEvent[]; end: Error } => ({
      events: [],
      end: new ManagementApiError('watch: ECONNREFUSED'),
    });
    const { api, sleeps, seen } = await run(
      [{ items: [], resourceVersion: '10' }],
      [
        broken,
        broken,
        broken,
        () => ({
          events: [{ type: 'ADDED', object: obj('a', '12') }],
          end: new ManagementApiError('watch: connection lost'),
        }),
      ],
    );
    expect(api.lists).toBe(1);
    expect(api.watches.map((q) => q.resourceVersion)).toEqual(['10', '10', '10', '10', '12']);
    expect(sleeps).toEqual([1000, 2000, 4000, 1000]);
    expect(seen).toEqual(['list*:', 'ADDED:a']);
  });

  it('treats a non-410 ERROR event as a failure and resumes', async () => {
    const { api, sleeps } = await run(
      [{ items: [], resourceVersion: '10' }],
      [
        () => ({
          events: [{ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'boom' } }],
        }),
      ],
    );
    expect(api.lists).toBe(1);
    expect(sleeps).toEqual([1000]);
  });
});
