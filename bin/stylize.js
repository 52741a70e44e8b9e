#!/usr/bin/env node
// Runs the compiled CLI (`npm install` builds it). The exit is explicit: the wasm backend's
// thread pool and Emscripten's process hooks must not decide when the process ends.
import { main } from '../dist/server/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`stylize: error: ${error?.message ?? error}\n`);
    process.exit(1);
  },
);
