import { readdir, readFile } from 'node:fs/promises';

export interface ProcessSnapshot {
  pid: number;
  cmdline: string;
  environ: string;
}

/** Reads argv and environment of every process this user can see (/proc). */
export async function listProcesses(): Promise<ProcessSnapshot[]> {
  const snapshots: ProcessSnapshot[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`))
        .toString('utf8')
        .split('\0')
        .join(' ');
      const environ = (
        await readFile(`/proc/${name}/environ`).catch(() => Buffer.alloc(0))
      ).toString('utf8');
      snapshots.push({ pid: Number(name), cmdline, environ: environ.split('\0').join('\n') });
    } catch {
      // The process ended while we looked.
    }
  }
  return snapshots;
}

/** True while the process runs; a zombie waiting to be reaped counts as gone. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+[ZX]/m.test(status);
  } catch {
    return false;
  }
}
