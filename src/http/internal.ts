import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import type { InternalHandler } from './server.js';
import { testControl } from '../jobs/test-control.js';
import { sendJson } from './json.js';


/** GET /_firn/health: unauthenticated liveness and storage check. */
const health: InternalHandler = async (req: IncomingMessage, res: ServerResponse, app: App) => {
  if (req.url !== '/_firn/health' || req.method !== 'GET') return false;
  await app.store.accounts.findRootKeys();
  sendJson(res, 200, { status: 'ok', storage: app.store.kind });
  return true;
};

export const internalHandlers: InternalHandler[] = [health, testControl];
