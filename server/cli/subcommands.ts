/**
 * Commands with subcommands and a default one (`stylize painters` is `stylize painters list`):
 * commander hands any other first word to the default, which then says "too many arguments for
 * 'list'". Said instead: that the word is not a subcommand of the group, and which ones there are.
 */
import type { Command } from 'commander';
import { BadInputError } from '../errors.js';

/** `fallback` is `group`'s default subcommand, and takes no arguments of its own. */
export function asDefaultSubcommand(fallback: Command, group: Command): Command {
  return fallback.allowExcessArguments(true).hook('preAction', (_hooked, action) => {
    const [stray] = action.args;
    if (stray === undefined) return;
    // Typed by name (`painters list bogus`): the word belongs to it; else it was meant as a subcommand.
    if (group.args[0] === fallback.name()) throw new BadInputError(`"${group.name()} ${fallback.name()}" takes no arguments (got "${stray}")`);
    const names = group.commands.map((c) => c.name());
    throw new BadInputError(`"${stray}" is not a ${group.name()} subcommand; use one of: ${names.join(', ')} (stylize ${group.name()} --help)`);
  });
}
