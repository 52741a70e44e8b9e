/** A real server on port 0 with its own temporary data directory. */
import path from 'node:path';
import { parseServerOptions, readEnv, type ServerOptions } from '../../server/config.js';
import { startServer, type RunningServer, type ServerParts } from '../../server/main.js';
import { DEFAULT_MODELS_DIR } from '../../server/paths.js';
import { tempDir } from './paths.js';

export interface TestServer extends RunningServer {
  wsUrl(query: string): string;
  /** Creates the room (POST /api/rooms) and returns the publisher's WebSocket URL. */
  publishUrl(room: string, options?: { private?: boolean }): Promise<string>;
  dataDir: string;
}

/** `where.dataDir`: use this data directory (kept) instead of a fresh one; the rest: parts given to startServer. */
export async function startTestServer(overrides: Partial<ServerOptions> = {}, where: ServerParts & { dataDir?: string } = {}): Promise<TestServer> {
  const { dataDir, ...parts } = where;
  const { dir, cleanup } = await tempDir('stylize-server-');
  const options = parseServerOptions(
    { port: 0, host: '127.0.0.1', logLevel: 'silent', backend: 'wasm', model: 'random-multiscale', uploadPainterSteps: 0, ...overrides },
    readEnv({}),
    { stylesDir: path.join(dir, 'styles-dir'), dataDir: dataDir ?? path.join(dir, 'data'), modelsDir: DEFAULT_MODELS_DIR },
  );
  // Uploads learn no painter in the background unless a test asks (uploadPainterSteps), and then at
  // normal priority: at the lowest, on a busy 2-core CI machine, it could wait minutes for the CPU.
  const server = await startServer(options, { trainingNiceness: 0, ...parts }).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  return {
    ...server,
    dataDir: options.dataDir,
    wsUrl: (query) => `ws://127.0.0.1:${server.port}/ws?${query}`,
    async publishUrl(room, options = {}) {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ room, ...options }),
      });
      if (res.status !== 201) throw new Error(`POST /api/rooms: ${res.status} ${await res.text()}`);
      const { publishToken } = (await res.json()) as { publishToken: string };
      return `ws://127.0.0.1:${server.port}/ws?room=${room}&role=publish&token=${publishToken}`;
    },
    async close() {
      await server.close();
      await cleanup();
    },
  };
}
