/**
 * A real redis-server (Debian's, on PATH) of our own for a test: a free port, a temp directory,
 * stopped (and its directory removed) by `stop()`. With `persistence`, every write goes to the
 * append-only file at once (appendfsync always), so `kill()` + `restart()` loses nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { tempDir } from './paths.js';

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** The running redis-server's process id (benches read its CPU and memory from /proc). */
  pid(): number | undefined;
  /** kill -9 (the process is gone when it resolves). */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRedis(options: { persistence?: boolean } = {}): Promise<TestRedis> {
  const { dir, cleanup } = await tempDir('stylize-redis-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    ...(options.persistence ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const launch = async (): Promise<void> => {
    let log = '';
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (log = `${log}${d.toString()}`.slice(-4000)));
    for (let i = 0; i < 100; i++) {
      if (await answers(port)) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not start:\n${log}`);
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill(signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: () => child?.pid,
    kill: () => end('SIGKILL'),
    restart: launch,
    async stop() {
      await end('SIGTERM');
      await cleanup();
    },
  };
}
