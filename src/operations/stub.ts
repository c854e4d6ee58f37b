import { GlacierError } from '../domain/errors.js';
import type { Handler } from './types.js';

export const notImplemented =
  (op: string): Handler =>
  async () => {
    throw new GlacierError('NotImplemented', 501, `${op} is not implemented yet`, 'Server');
  };
