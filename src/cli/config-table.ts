import { CONFIG_VARIABLES } from 'src/common/config/config';

/** Prints the README configuration table from the one place variables are declared. */
const rows = Object.values(CONFIG_VARIABLES).map(
  (v) =>
    `| \`${v.name}\` | ${v.defaultValue === undefined ? '—' : `\`${v.defaultValue}\``} | ${v.secret ? 'yes' : 'no'} | ${v.description} |`,
);
process.stdout.write(
  ['| Variable | Default | Secret | Meaning |', '|---|---|---|---|', ...rows].join('\n') + '\n',
);
