/**
 * Measures ingest against a server running as a child process (not part of `npm test`): one
 * UploadArchive of S MiB and one multipart upload of M MiB in P MiB parts, both through boto3,
 * with the server's peak RSS (VmHWM) after each. The client streams from a file of random bytes
 * (multipart parts cycle through it), so the client's memory is not the server's concern.
 *
 *   node --import tsx scripts/measure-uploads.ts [singleMiB=1024] [multipartMiB=4096] [partMiB=64]
 */
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer, readRss } from '../test/helpers/child-server.js';
import { TEST_KEY, TEST_SECRET } from '../test/helpers/server.js';

const SINGLE = Number(process.argv[2] ?? 1024);
const MULTI = Number(process.argv[3] ?? 4096);
const PART = Number(process.argv[4] ?? 64);
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'firn-measure-up-'));
const file = join(dir, 'data.bin');
const fileMiB = Math.max(SINGLE, PART);
const fd = openSync(file, 'w');
for (let i = 0; i < fileMiB; i++) writeSync(fd, randomBytes(MiB));
closeSync(fd);

const server = new ChildServer({ dataDir: join(dir, 'data'), env: { FIRN_LOG_LEVEL: 'warn' } });
await server.start();
const hwm = () => `${(readRss(server.pid)!.hwm / MiB).toFixed(0)} MiB`;

const py = `
import boto3, sys, time, io, os, hashlib, json
from botocore.config import Config
from botocore.utils import calculate_tree_hash
g = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'], config=Config(retries={'max_attempts': 1}, read_timeout=900))
mode, path, size, part = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 1048576, int(sys.argv[4]) * 1048576
g.create_vault(vaultName='measure')
t = time.time()
if mode == 'single':
    with open(path, 'rb') as f:
        th = calculate_tree_hash(f); f.seek(0)
        t = time.time()
        r = g.upload_archive(vaultName='measure', body=f, checksum=th)
    ok = r['checksum'] == th
else:
    fsize = os.path.getsize(path)
    uid = g.initiate_multipart_upload(vaultName='measure', partSize=str(part))['uploadId']
    roots = []
    with open(path, 'rb') as f:
        for off in range(0, size, part):
            f.seek(off % fsize if fsize >= part else 0)
            body = f.read(min(part, size - off))
            th = calculate_tree_hash(io.BytesIO(body))
            roots.append(bytes.fromhex(th))
            g.upload_multipart_part(vaultName='measure', uploadId=uid, range='bytes %d-%d/*' % (off, off + len(body) - 1), body=body, checksum=th)
    lvl = roots
    while len(lvl) > 1:
        lvl = [hashlib.sha256(lvl[i] + lvl[i + 1]).digest() if i + 1 < len(lvl) else lvl[i] for i in range(0, len(lvl), 2)]
    r = g.complete_multipart_upload(vaultName='measure', uploadId=uid, archiveSize=str(size), checksum=lvl[0].hex())
    ok = r['checksum'] == lvl[0].hex()
dt = time.time() - t
print(json.dumps({'ok': ok, 'seconds': round(dt, 2), 'mbps': round(size / 1e6 / dt, 1)}))
`;

function client(mode: string, sizeMiB: number): { ok: boolean; seconds: number; mbps: number } {
  const r = spawnSync('python3', ['-c', py, mode, file, String(sizeMiB), String(PART)], {
    env: { ...process.env, ENDPOINT: server.url, AWS_ACCESS_KEY_ID: TEST_KEY, AWS_SECRET_ACCESS_KEY: TEST_SECRET, AWS_DEFAULT_REGION: 'us-east-1' },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

try {
  console.log(`server idle: peak RSS ${hwm()}`);
  const s = client('single', SINGLE);
  console.log(`UploadArchive ${SINGLE} MiB (boto3): ${s.mbps} MB/s in ${s.seconds} s, tree hash ok=${s.ok}; server peak RSS ${hwm()}`);
  const m = client('multi', MULTI);
  console.log(`multipart ${MULTI} MiB in ${PART} MiB parts (boto3): ${m.mbps} MB/s in ${m.seconds} s, tree hash ok=${m.ok}; server peak RSS ${hwm()}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
