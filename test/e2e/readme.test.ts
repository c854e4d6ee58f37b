/**
 * The README's longer shell recipes, run as written (bash, the real aws CLI, node) against a
 * listening server. Each is the fenced block that follows a `<!-- readme-test: NAME -->` line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsCli, awsEnv } from '../helpers/clients.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function recipe(name: string): string {
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``).exec(README);
  assert.ok(m, `README has no readme-test block named ${name}`);
  return m[1]!;
}

let s: TestServer;
let cwd: string;
before(async () => {
  s = await startTestServer();
  cwd = mkdtempSync(join(tmpdir(), 'firn-readme-'));
  assert.equal((await awsCli(s.url, s.creds, ['create-vault', '--account-id', '-', '--vault-name', 'photos'])).code, 0);
});
after(async () => {
  await s.close();
  rmSync(cwd, { recursive: true, force: true });
});

/** Runs a recipe with bash (asynchronously: the server answers from this process's event loop). */
async function runRecipe(name: string): Promise<{ stdout: string; stderr: string }> {
  const script = recipe(name).replaceAll('http://127.0.0.1:4590', s.url);
  const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: awsEnv(s.creds), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d));
  p.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
  assert.equal(code, 0, `${name} recipe failed:\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

test('README multipart recipe: part ranges and the final --checksum are right', async () => {
  const r = await runRecipe('multipart');
  const completed = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n'))) as { archiveId: string; checksum: string };
  const described = await awsCli(s.url, s.creds, ['describe-vault', '--account-id', '-', '--vault-name', 'photos']);
  assert.equal(described.json.NumberOfArchives, 1);
  assert.equal(described.json.SizeInBytes > 3_000_000, true);
  assert.match(completed.archiveId, /^[A-Za-z0-9_-]{138}$/);
});

test('README vault-lock recipe: the policy quoting works and the lock ends Locked', async () => {
  const r = await runRecipe('vault-lock');
  assert.deepEqual(r.stdout.trim().split('\n'), ['InProgress', 'Locked']);
});
