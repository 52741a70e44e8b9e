/**
 * Where a command will write, checked before any work starts: a result that cannot be saved
 * must fail in a second, not after minutes of painting.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { BadInputError } from '../errors.js';

/** BadInputError unless `file` can be created (or replaced) in a folder that exists. */
export async function checkOutputLocation(file: string): Promise<void> {
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new BadInputError(`cannot write ${file}: it is a folder; give a file name inside it to -o`);
  }
  const folder = path.dirname(file);
  const info = await stat(folder).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error || !info.isDirectory()) {
    const code = info instanceof Error ? info.code : 'ENOTDIR';
    const why =
      code === 'ENOENT' ? `the folder ${folder} does not exist` : code === 'ENOTDIR' ? `${folder} is not a folder` : `the folder ${folder} cannot be used (${code})`;
    throw new BadInputError(`cannot write ${file}: ${why}; create it first or choose another -o`);
  }
  try {
    await access(existing ? file : folder, constants.W_OK);
  } catch {
    throw new BadInputError(`cannot write ${file}: no permission to write ${existing ? 'that file' : `in ${folder}`}; choose another -o`);
  }
}
