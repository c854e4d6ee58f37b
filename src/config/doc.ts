import { schema, showDefault, type ConfigKey } from './schema.js';

/** The Markdown table of every configuration key, as published in docs/configuration.md. */
export function configTable(): string {
  const rows = (Object.values(schema) as ConfigKey<unknown>[]).map((k) => {
    const shown = showDefault(k);
    const def = shown === '(unset)' ? shown : `\`${shown}\``;
    return `| \`${k.env}\` | \`${k.flag}\` | ${def} | ${k.description.replace(/\|/g, '\\|')} |`;
  });
  return ['| Environment variable | CLI flag | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}
