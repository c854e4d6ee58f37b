/**
 * `firn upload` / `firn download` next to the aws CLI doing the same job, against the same Firn
 * server, for one file (1 GiB by default). Wall time of the whole command (jobs complete at once
 * on this server, so download times include InitiateJob and DescribeJob), and the client's peak
 * RSS from /usr/bin/time. Run with `npm run bench -- transfer [--rounds N]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFirn, KEY, SECRET } from './servers.js';

interface Row {
  job: string;
  tool: string;
  mibs: number[];
  rssKb: number[];
}

const MiB = 1024 * 1024;

/** Runs `bash -c script` under /usr/bin/time; returns wall seconds and the peak RSS (KiB) of the largest process. */
function timedRun(script: string, env: NodeJS.ProcessEnv): { seconds: number; rssKb: number } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', 'bash', '-euo', 'pipefail', '-c', script], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`bench command failed (${r.status}): ${script}\n${(r.stderr ?? '').slice(-2000)}`);
  return { seconds: Number(m[1]), rssKb: Number(m[2]) };
}

export async function transferBench(o: { firnDir: string; file: string; rounds: number; work: string; log: (m: string) => void }): Promise<{ lines: string[] }> {
  const size = statSync(o.file).size;
  const firn = `node ${join(o.firnDir, 'bin', 'firn.js')}`;
  const rows = new Map<string, Row>();
  const add = (job: string, tool: string, r: { seconds: number; rssKb: number }) => {
    const k = `${job}\u0000${tool}`;
    const row = rows.get(k) ?? { job, tool, mibs: [], rssKb: [] };
    row.mibs.push(size / MiB / r.seconds);
    row.rssKb.push(r.rssKb);
    rows.set(k, row);
    o.log(`  ${job}, ${tool}: ${(size / MiB / r.seconds).toFixed(0)} MiB/s, ${(r.rssKb / 1024).toFixed(0)} MiB RSS`);
  };
  const scratch = join(o.work, 'transfer');
  for (let round = 0; round < o.rounds; round++) {
    o.log(`transfer round ${round + 1}/${o.rounds}`);
    const server = await startFirn(o.firnDir);
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: KEY,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      E: server.url,
      F: o.file,
      SIZE: String(size),
      D: scratch,
    };
    try {
      const aws = 'aws --endpoint-url "$E" glacier';
      execFileSync('bash', ['-c', `${aws} create-vault --account-id - --vault-name bench >/dev/null`], { env });

      add('upload', '`firn upload` (auto: 16 MiB parts, 4 in flight)', timedRun(`${firn} upload --endpoint-url "$E" --vault bench "$F" --quiet > "$D/firn-upload.json"`, env));
      add('upload', '`aws glacier upload-archive` (one request)', timedRun(`${aws} upload-archive --account-id - --vault-name bench --body "$F" > "$D/aws-upload.json"`, env));
      // The recipe the README used to give: split, one upload-multipart-part per part, a tree-hash script, complete.
      writeFileSync(
        join(scratch, 'multipart.sh'),
        [
          `id=$(${aws} initiate-multipart-upload --account-id - --vault-name bench --part-size ${64 * MiB} --query uploadId --output text)`,
          `split -b ${64 * MiB} -d -a 4 "$F" "$D/part."`,
          'off=0',
          `for p in "$D"/part.*; do n=$(stat -c %s "$p"); ${aws} upload-multipart-part --account-id - --vault-name bench --upload-id "$id" --range "bytes $off-$((off+n-1))/*" --body "$p" >/dev/null; off=$((off+n)); done`,
          `sum=$(python3 -c 'import sys, botocore.utils as u; print(u.calculate_tree_hash(open(sys.argv[1], "rb")))' "$F")`,
          `${aws} complete-multipart-upload --account-id - --vault-name bench --upload-id "$id" --archive-size "$SIZE" --checksum "$sum" >/dev/null`,
          'rm -f "$D"/part.*',
        ].join('\n'),
      );
      add('upload', 'aws CLI multipart recipe (split, 64 MiB parts one by one, botocore tree hash)', timedRun(`bash "$D/multipart.sh"`, env));

      const archiveId = JSON.parse(readFileSync(join(scratch, 'firn-upload.json'), 'utf8').trim().split('\n').pop()!).archiveId as string;
      const envA = { ...env, A: archiveId };
      add('download', '`firn download` (16 MiB chunks, 4 in flight, each verified)', timedRun(`${firn} download --endpoint-url "$E" --vault bench --archive-id="$A" --output "$D/firn.out" --quiet >/dev/null && cmp "$D/firn.out" "$F"`, envA));
      rmSync(join(scratch, 'firn.out'), { force: true });
      writeFileSync(
        join(scratch, 'download.sh'),
        [
          `job=$(${aws} initiate-job --account-id - --vault-name bench --job-parameters "{\\"Type\\":\\"archive-retrieval\\",\\"ArchiveId\\":\\"$A\\"}" --query jobId --output text)`,
          `until [ "$(${aws} describe-job --account-id - --vault-name bench --job-id "$job" --query StatusCode --output text)" = Succeeded ]; do sleep 1; done`,
          `${aws} get-job-output --account-id - --vault-name bench --job-id "$job" "$D/aws.out" >/dev/null`,
        ].join('\n'),
      );
      const awsDl = timedRun(`bash "$D/download.sh"`, envA);
      execFileSync('cmp', [join(scratch, 'aws.out'), o.file]);
      add('download', 'aws CLI (initiate-job, describe-job, one get-job-output; unverified)', awsDl);
    } finally {
      await server.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const lines = [
    `**Transfer tool vs the aws CLI: ${(size / MiB).toFixed(0)} MiB file against the same Firn server (MiB/s of the whole command; client peak RSS)**`,
    '',
    '| job | tool | MiB/s median (min–max) | client peak RSS |',
    '|---|---|---:|---:|',
  ];
  for (const r of rows.values()) {
    lines.push(`| ${r.job} | ${r.tool} | ${med(r.mibs).toFixed(0)} (${Math.min(...r.mibs).toFixed(0)}–${Math.max(...r.mibs).toFixed(0)}) | ${(Math.max(...r.rssKb) / 1024).toFixed(0)} MiB |`);
  }
  lines.push('');
  return { lines };
}
