#!/usr/bin/env node
/**
 * `stylize` — the command line. Every failure ends as one line on stderr and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { readEnv } from '../config.js';
import { exitCodeFor, StylizeError } from '../errors.js';
import { imageCommand } from './image-command.js';
import { modelsCommand } from './models-command.js';
import { paintersCommand } from './painters-command.js';
import { serveCommand } from './serve-command.js';
import { VERSION } from './version.js';
import { videoCommand } from './video-command.js';
import { workerCommand } from './worker-command.js';

export function buildProgram(): Command {
  return new Command('stylize')
    .description('neural style transfer (Gatys et al.) for images, live video and video files')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addCommand(serveCommand())
    .addCommand(imageCommand())
    .addCommand(videoCommand())
    .addCommand(workerCommand())
    .addCommand(modelsCommand())
    .addCommand(paintersCommand());
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  if (argv.length === 0) {
    // `npm start` with nothing else: show what there is to do, and that is not an error.
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof StylizeError ? ` [${error.code}]` : '';
    process.stderr.write(`stylize: error${code}: ${message}\n`);
    // The environment may be what failed: its own error must not replace this one.
    let debug = false;
    try {
      debug = readEnv().debug;
    } catch {
      // keep the first error
    }
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
