#!/usr/bin/env node
// Bundles the browser client into dist/client (run by `npm run build`, hence by `npm install`).
import { buildClient } from '../dist/server/http/client-build.js';

await buildClient();
