import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createScratch,
  makeRenderingService,
  makeRequest,
  type Scratch,
} from 'test/fixtures/rendering/rendering.factory';
import { Semaphore } from './semaphore';

async function script(scratch: Scratch, name: string, body: string): Promise<string> {
  const path = join(scratch.dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Alive and not a zombie waiting to be reaped. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function eventually(check: () => Promise<boolean>, ms = 2_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) {
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('child process limits', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await createScratch();
    await scratch.write({ 'app/kustomization.yaml': 'resources: []\n' });
  });

  afterEach(async () => {
    expect(await scratch.leftovers()).toEqual([]);
    await scratch.cleanup();
  });

  it('kills a hanging tool and its process group at the timeout and releases the slot', async () => {
    const pidFile = join(scratch.dir, 'grandchild.pid');
    const hanging = await script(scratch, 'hang.sh', `/bin/sleep 30 &\necho $! > ${pidFile}\nwait`);
    const { sut, runner } = makeRenderingService(scratch, {
      kubectlPath: hanging,
      processTimeoutMs: 300,
      maxConcurrentProcesses: 1,
    });
    const started = Date.now();
    const first = sut.render(makeRequest(scratch, { release: { path: 'app' } }));
    const second = sut.render(makeRequest(scratch, { release: { path: 'app' } }));
    // Both assertions attach their handlers now: under load the second render can
    // time out before the first assertion has resumed, which would be an unhandled
    // rejection.
    const firstRejects = expect(first).rejects.toMatchObject({
      code: 'Timeout',
      message: 'kustomize did not finish within 300 ms and was killed',
    });
    const secondRejects = expect(second).rejects.toMatchObject({ code: 'Timeout' });
    await firstRejects;
    await secondRejects;
    // One slot: the second run waited for the first one's slot.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(Date.now() - started).toBeLessThan(5_000);
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    expect(await eventually(async () => !(await isAlive(grandchild)))).toBe(true);
    expect(runner.running).toBe(0);
    expect(runner.queued).toBe(0);
  });

  it('lets a queued render run once the hanging one is killed', async () => {
    const { runner } = makeRenderingService(scratch, {
      processTimeoutMs: 300,
      maxConcurrentProcesses: 1,
    });
    const hang = runner.run({
      tool: 'hang',
      command: '/bin/sleep',
      args: ['30'],
      cwd: scratch.dir,
      env: {},
    });
    const quick = runner.run({
      tool: 'echo',
      command: '/bin/echo',
      args: ['ok'],
      cwd: scratch.dir,
      env: {},
    });
    expect(runner.queued).toBe(1);
    const hangRejects = expect(hang).rejects.toMatchObject({ code: 'Timeout' });
    const quickResolves = expect(quick).resolves.toMatchObject({ exitCode: 0 });
    await hangRejects;
    await quickResolves;
    expect((await quick).stdout.toString()).toBe('ok\n');
    expect(runner.running).toBe(0);
  });

  it('stops reading and kills a tool whose output exceeds the cap', async () => {
    const chatty = await script(scratch, 'chatty.sh', 'exec /usr/bin/yes apiVersion');
    const { sut, runner } = makeRenderingService(scratch, {
      kubectlPath: chatty,
      maxRenderedBytes: 64 * 1024,
    });
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'app' } })),
    ).rejects.toMatchObject({
      code: 'LimitExceeded',
      message: 'kustomize output exceeds 65536 bytes',
    });
    expect(runner.running).toBe(0);
  });

  it('gives tools a closed environment: no network proxy escape, no inherited variables', async () => {
    const out = join(scratch.dir, 'env.txt');
    const dump = await script(scratch, 'env.sh', `/usr/bin/env > ${out}`);
    const { sut } = makeRenderingService(scratch, {
      kubectlPath: dump,
      processMemoryLimitBytes: 256 * 1024 * 1024,
    });
    await sut.render(makeRequest(scratch, { release: { path: 'app' } }));
    const env = Object.fromEntries(
      (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
      GOMEMLIMIT: '256MiB',
    });
    expect(env.HELM_PLUGINS).toMatch(/gitfleet-render-/);
    expect(Object.keys(env)).not.toContain('VITEST');
  });

  it('releases the slot when the tool cannot be started, and on abort', async () => {
    const { sut, runner } = makeRenderingService(scratch, {
      kubectlPath: join(scratch.dir, 'missing'),
      maxConcurrentProcesses: 1,
    });
    await expect(
      sut.render(makeRequest(scratch, { release: { path: 'app' } })),
    ).rejects.toMatchObject({
      code: 'RenderFailed',
      message: 'kustomize could not be started',
    });
    expect(runner.running).toBe(0);

    const controller = new AbortController();
    const hang = runner.run({
      tool: 'hang',
      command: '/bin/sleep',
      args: ['30'],
      cwd: scratch.dir,
      env: {},
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(hang).rejects.toMatchObject({ code: 'Aborted' });
    expect(runner.running).toBe(0);
  });
});

describe('Semaphore', () => {
  it('hands slots over in order, ignores double release, and drops aborted waiters', async () => {
    const sut = new Semaphore(1);
    const release = await sut.acquire();
    const controller = new AbortController();
    const aborted = sut.acquire(controller.signal);
    const next = sut.acquire();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'Aborted' });
    release();
    release();
    const releaseNext = await next;
    expect(sut.inUse).toBe(1);
    releaseNext();
    expect(sut.inUse).toBe(0);
    expect(sut.waiting).toBe(0);
  });
});
