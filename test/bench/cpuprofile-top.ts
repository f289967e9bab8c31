import { readFileSync } from 'node:fs';

/**
 * `tsx test/bench/cpuprofile-top.ts <file.cpuprofile> [n]`: self time by function
 * and by file (or package) of a V8 CPU profile, e.g. the one `bench:fleet --cpu-prof` writes.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string): string {
  if (url === '') {
    return '(native/idle)';
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^node:/, 'node:');
}

function main(): void {
  const [file, n = '25'] = process.argv.slice(2);
  if (file === undefined) {
    throw new Error('usage: cpuprofile-top <file.cpuprofile> [n]');
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) {
      continue;
    }
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${area(f.url)}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const a = f.functionName === '(idle)' ? '(idle)' : area(f.url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const show = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title} (total ${(total / 1e6).toFixed(1)} s sampled)`);
    for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
      console.log(
        `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(7)} s  ${k}`,
      );
    }
  };
  show('self time by file or package', byArea);
  show('self time by function', byFunction);
}

main();
