import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { GetJobOutputCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import {
  addCommonOptions,
  CliError,
  EXIT,
  makeClient,
  positiveInt,
  printResult,
  requiredOption,
  runAction,
  usageExit,
  withRetry,
  type CommonOptions,
} from './common.js';
import { waitForJob, type JobScope } from './jobs.js';

interface InventoryOptions extends CommonOptions {
  vault: string;
  format: string;
  output: string;
  limit?: string;
}

export function registerInventory(program: Command): void {
  const cmd = program
    .command('inventory')
    .description("retrieve the vault's inventory: runs inventory jobs, follows Marker across pages, writes one combined file")
    .addOption(requiredOption('--vault <name>', 'vault name'))
    .addOption(requiredOption('--output <file>', 'file to write (CSV or JSON, one document for all pages)'))
    .option('--format <format>', 'csv or json', 'json')
    .option('--limit <n>', 'archives per inventory job (each page is one job)');
  addCommonOptions(cmd);
  usageExit(cmd);
  cmd.action(runAction('inventory', (opts: InventoryOptions) => inventory(opts)));
}

async function bodyText(body: unknown): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function inventory(o: InventoryOptions): Promise<void> {
  const format = o.format.toLowerCase();
  if (format !== 'csv' && format !== 'json') throw new CliError(`--format must be csv or json, not ${o.format}`, EXIT.usage);
  const limit = o.limit === undefined ? undefined : positiveInt(o.limit, '--limit');
  const client = makeClient(o);
  const scope: JobScope = { client, accountId: o.accountId, vault: o.vault };
  const log = (m: string) => {
    if (!o.quiet) process.stderr.write(m + '\n');
  };
  const tmp = `${o.output}.firn-part`;
  const out = createWriteStream(tmp);
  const closed = once(out, 'close');
  let archives = 0;
  let pages = 0;
  let ok = false;
  try {
    let marker: string | undefined;
    do {
      const started = await withRetry(() =>
        client.send(
          new InitiateJobCommand({
            accountId: o.accountId,
            vaultName: o.vault,
            jobParameters: {
              Type: 'inventory-retrieval',
              Format: format.toUpperCase(),
              ...(limit !== undefined || marker ? { InventoryRetrievalParameters: { ...(limit !== undefined ? { Limit: String(limit) } : {}), ...(marker ? { Marker: marker } : {}) } } : {}),
            },
          }),
        ),
      );
      const job = (await waitForJob(scope, started.jobId!, { log }))!;
      const text = await withRetry(async () =>
        bodyText((await client.send(new GetJobOutputCommand({ accountId: o.accountId, vaultName: o.vault, jobId: job.JobId! }))).body),
      );
      archives += await appendPage(out, format, text, pages === 0, archives);
      pages++;
      marker = job.InventoryRetrievalParameters?.Marker ?? undefined;
      log(`inventory page ${pages}: ${archives} archives so far${marker ? '' : ' (last page)'}`);
    } while (marker);
    if (format === 'json') await write(out, ']}');
    ok = true;
  } finally {
    out.end();
    await closed;
    client.destroy();
    if (!ok) await rm(tmp, { force: true });
  }
  await rename(tmp, o.output);
  printResult({ vault: o.vault, format, output: o.output, archives, pages });
}

/**
 * Appends one inventory page. CSV: the header once, then the rows. JSON: one document whose
 * VaultARN and InventoryDate are the first page's and whose ArchiveList holds every page's.
 */
async function appendPage(out: Writable, format: string, text: string, first: boolean, before: number): Promise<number> {
  if (format === 'csv') {
    const nl = text.indexOf('\n');
    const rows = nl < 0 ? '' : text.slice(nl + 1);
    if (first) await write(out, nl < 0 ? text + '\n' : text.slice(0, nl + 1));
    if (rows) await write(out, rows.endsWith('\n') ? rows : rows + '\n');
    return rows.split('\n').filter((l) => l.trim() !== '').length;
  }
  const doc = JSON.parse(text) as { VaultARN: string; InventoryDate: string; ArchiveList: unknown[] };
  if (first) await write(out, `{"VaultARN":${JSON.stringify(doc.VaultARN)},"InventoryDate":${JSON.stringify(doc.InventoryDate)},"ArchiveList":[`);
  for (let i = 0; i < doc.ArchiveList.length; i++) {
    await write(out, (before + i === 0 ? '' : ',') + JSON.stringify(doc.ArchiveList[i]));
  }
  return doc.ArchiveList.length;
}
