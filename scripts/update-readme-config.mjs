// Replaces the configuration table in README.md with the output of `src/cli/config-table.ts`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const table = execFileSync('npx', ['tsx', 'src/cli/config-table.ts'], { encoding: 'utf8' });
const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(
  /<!-- config-table:start -->[\s\S]*<!-- config-table:end -->/,
  `<!-- config-table:start -->\n${table}<!-- config-table:end -->`,
);
writeFileSync('README.md', next);
