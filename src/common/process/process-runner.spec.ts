import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProcessRunner } from 'src/common/process/process-runner';

const ENV = { PATH: '/usr/bin:/bin' };

async function running(pid: number): Promise<boolean> {
  try {
    return !/^State:\s+[ZX]/m.test(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('ProcessRunner', () => {
  const sut = new ProcessRunner();

  it('passes argv without a shell, stdin, and only the given environment', async () => {
    const result = await sut.run('/usr/bin/env', [], {
      env: { ONLY: 'this', ...ENV },
      timeoutMs: 5000,
    });
    expect(result.stdout.toString().trim().split('\n').sort()).toEqual([
      'ONLY=this',
      'PATH=/usr/bin:/bin',
    ]);
    const echo = await sut.run('/bin/echo', ['$HOME', '`id`', ';', 'x'], {
      env: ENV,
      timeoutMs: 5000,
    });
    expect(echo.stdout.toString()).toBe('$HOME `id` ; x\n');
    const cat = await sut.run('/bin/cat', [], { env: ENV, timeoutMs: 5000, stdin: 'in\0put' });
    expect(cat.stdout.toString()).toBe('in\0put');
  });

  it('kills the whole process group at the timeout', async () => {
    const started = Date.now();
    const result = await sut.run('/bin/sh', ['-c', 'sleep 30 & echo $!; wait'], {
      env: ENV,
      timeoutMs: 500,
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const grandchild = Number(result.stdout.toString().trim());
    await sleep(100);
    expect(await running(grandchild)).toBe(false);
  });

  it('kills a process whose output exceeds the cap, and on abort', async () => {
    const noisy = await sut.run('/usr/bin/yes', [], {
      env: ENV,
      timeoutMs: 5000,
      maxStdoutBytes: 1024,
    });
    expect(noisy.outputLimitExceeded).toBe(true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await sut.run('/bin/sleep', ['30'], {
      env: ENV,
      timeoutMs: 5000,
      signal: controller.signal,
    });
    expect(aborted.aborted).toBe(true);
  });

  it('keeps the tail of stderr and reports the exit code', async () => {
    const result = await sut.run('/bin/sh', ['-c', 'echo oops >&2; exit 3'], {
      env: ENV,
      timeoutMs: 5000,
    });
    expect(result).toMatchObject({ exitCode: 3, stderr: 'oops\n', timedOut: false });
  });
});
