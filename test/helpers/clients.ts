import { spawn } from 'node:child_process';
import type { Creds } from './server.js';

export interface ProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 120_000): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

/** Environment for the aws CLI / boto3: the given credentials, no config files, no retries. */
export function awsEnv(creds: Creds, region = 'us-east-1'): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    PYTHONWARNINGS: 'ignore',
  };
}

/** Runs `aws --endpoint-url <url> glacier <args…>`; parses stdout as JSON when it is JSON. */
export async function awsCli(url: string, creds: Creds, args: string[], opts: { region?: string } = {}): Promise<ProcResult & { json: any }> {
  const r = await run('aws', ['--endpoint-url', url, '--output', 'json', 'glacier', ...args], awsEnv(creds, opts.region));
  let json: any = null;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : null;
  } catch {
    json = null;
  }
  return { ...r, json };
}

/**
 * Runs a python3 script with boto3 available; `ENDPOINT` is set in its environment. The script
 * should print one JSON document on stdout.
 */
export async function python(
  url: string,
  creds: Creds,
  script: string,
  opts: { region?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ProcResult & { json: any }> {
  const r = await run('python3', ['-c', script], { ...awsEnv(creds, opts.region), ENDPOINT: url, ...opts.env }, undefined, opts.timeoutMs);
  let json: any = null;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    json = null;
  }
  return { ...r, json };
}

/** boto3 prelude for python(): `g` is a glacier client on ENDPOINT; `err(fn)` returns the error code or None. */
export const BOTO3_PRELUDE = `
import os, sys, json, boto3, botocore
from botocore.config import Config
g = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'], config=Config(retries={'max_attempts': 1}))
def err(fn, *a, **kw):
    try:
        fn(*a, **kw)
        return None
    except botocore.exceptions.ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error'].get('Message')]
`;
