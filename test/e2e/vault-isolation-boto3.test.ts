import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { BOTO3_PRELUDE, python } from '../helpers/clients.js';
import { createAccount } from '../../src/auth/admin.js';

/** The reproduction of a deleted vault's jobs reappearing, driven by boto3 as a user would. */
let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

test("boto3: a deleted vault's jobs and uploads appear in no later vault, same account or another", async () => {
  const other = await createAccount(s.running.app.store, undefined, s.clock.now());
  const r = await python(
    s.url,
    s.creds,
    BOTO3_PRELUDE +
      `
import time
g2 = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'], aws_access_key_id=os.environ['OTHER_KEY'],
                  aws_secret_access_key=os.environ['OTHER_SECRET'], config=Config(retries={'max_attempts': 1}))
def leave_behind(name):
    g.create_vault(vaultName=name)
    a = g.upload_archive(vaultName=name, body=b'old bytes')['archiveId']
    jobs = [g.initiate_job(vaultName=name, jobParameters={'Type': 'archive-retrieval', 'ArchiveId': a})['jobId'],
            g.initiate_job(vaultName=name, jobParameters={'Type': 'inventory-retrieval'})['jobId']]
    for j in jobs:
        for _ in range(200):
            if g.describe_job(vaultName=name, jobId=j)['Completed']:
                break
            time.sleep(0.02)
    up = g.initiate_multipart_upload(vaultName=name, partSize=str(1024 * 1024))['uploadId']
    g.delete_archive(vaultName=name, archiveId=a)
    g.delete_vault(vaultName=name)
    return jobs, up
def seen_from(client, name, jobs, up):
    client.create_vault(vaultName=name)
    return {
        'jobs': client.list_jobs(vaultName=name)['JobList'],
        'uploads': client.list_multipart_uploads(vaultName=name)['UploadsList'],
        'describe': [err(client.describe_job, vaultName=name, jobId=j) for j in jobs],
        'output': [err(client.get_job_output, vaultName=name, jobId=j) for j in jobs],
        'parts': err(client.list_parts, vaultName=name, uploadId=up),
    }
out = {'same': seen_from(g, 'b3-v2', *leave_behind('b3-v1')), 'other': seen_from(g2, 'b3-x2', *leave_behind('b3-x1'))}
print(json.dumps(out))
`,
    { env: { OTHER_KEY: other.accessKeyId, OTHER_SECRET: other.secretAccessKey } },
  );
  assert.equal(r.code, 0, r.stderr);
  for (const who of ['same', 'other'] as const) {
    const o = r.json[who];
    assert.deepEqual(o.jobs, [], who);
    assert.deepEqual(o.uploads, [], who);
    for (const e of [...o.describe, ...o.output, o.parts]) assert.deepEqual(e.slice(0, 2), ['ResourceNotFoundException', 404], who);
  }
});
