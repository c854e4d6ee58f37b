import type { Command } from 'commander';
import { registerDownload } from './download.js';
import { registerInventory } from './inventory.js';
import { registerUpload } from './upload.js';

/** `firn upload`, `firn download`, `firn inventory`: the transfer tool for Glacier users. */
export function registerTransferCommands(program: Command): void {
  registerUpload(program);
  registerDownload(program);
  registerInventory(program);
}
