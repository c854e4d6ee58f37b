import { notImplemented } from '../stub.js';
import type { Handler } from '../types.js';

// Placeholder until its issue lands; answers 501 NotImplemented.
export const CompleteMultipartUpload: Handler = notImplemented('CompleteMultipartUpload');
