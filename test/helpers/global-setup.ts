/** Integration tests run the real `stylize` binary, which runs the compiled code: build it once. */
import { execFileSync } from 'node:child_process';
import { ROOT } from './paths.js';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
}
