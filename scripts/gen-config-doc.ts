// Regenerates the table in docs/configuration.md from src/config/schema.ts.
// Usage: node --import tsx scripts/gen-config-doc.ts   (test/unit/config.test.ts checks it is current)
import { readFileSync, writeFileSync } from 'node:fs';
import { configTable } from '../src/config/doc.js';

const file = new URL('../docs/configuration.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const start = '<!-- config-table:start -->';
const end = '<!-- config-table:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < 0) throw new Error('docs/configuration.md lacks the config-table markers');
writeFileSync(file, text.slice(0, a + start.length) + '\n' + configTable() + '\n' + text.slice(b));
console.log('docs/configuration.md updated');
