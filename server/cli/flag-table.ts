/**
 * A command's flags, each written once: the option it sets, how its text is read, its help. The
 * help's "(default …)" is printed from the options schema's own defaults (config.ts), and the
 * flags → options mapping is generated from the same table, so neither can drift.
 */
import { Command, Option } from 'commander';
import { byteSizeOption, durationOption, formatByteSize, formatDuration, listOption, numberOption } from './parse.js';

/**
 * How a flag's text becomes the option's value: `seconds` and `milliseconds` both read a
 * duration ("90s", "10m", "24h") into an option kept in that unit; `bytes` a size ("256M");
 * `list` a comma-separated list; `switch` takes no value.
 */
export type FlagKind = 'text' | 'number' | 'list' | 'bytes' | 'seconds' | 'milliseconds' | 'switch';

export interface FlagSpec<Key extends string = string> {
  /** The option it sets: a key of the command's options schema. */
  key: Key;
  /** Commander's syntax, e.g. `--size <px>`. */
  flag: string;
  help: string;
  /** Default: 'text'. */
  kind?: FlagKind;
  choices?: readonly string[];
  /** Said before the default, inside the same parentheses: 'env PORT', '0 = off'. */
  notes?: readonly string[];
  /**
   * How the default is shown where its value alone would say too little (0 → "one per core"):
   * words, a function of the value, or false for none.
   */
  shownDefault?: string | false | ((value: unknown) => string);
  /** Kept out of --help (test-only switches). */
  hidden?: boolean;
}

const PARSERS: Partial<Record<FlagKind, (value: string) => unknown>> = {
  number: numberOption,
  list: listOption,
  bytes: byteSizeOption,
  seconds: durationOption,
  milliseconds: durationOption,
};

/** A default as the flag itself would take it: "10m" for a duration, "256M" for a size. */
export function formatDefault(spec: FlagSpec, value: unknown): string | undefined {
  if (spec.shownDefault === false || spec.kind === 'switch') return undefined;
  if (typeof spec.shownDefault === 'string') return spec.shownDefault;
  if (value === undefined) return undefined;
  if (spec.shownDefault) return spec.shownDefault(value);
  switch (spec.kind) {
    case 'seconds':
      return formatDuration(value as number);
    case 'milliseconds':
      return formatDuration((value as number) / 1000);
    case 'bytes':
      return formatByteSize(value as number);
    case 'list':
      return (value as string[]).join(',');
    default:
      return String(value);
  }
}

/** The help line: what the flag does, then "(notes; default …)". */
export function helpText(spec: FlagSpec, defaults: Record<string, unknown>): string {
  const shown = formatDefault(spec, defaults[spec.key]);
  const said = [...(spec.notes ?? []), ...(shown === undefined ? [] : [`default ${shown}`])];
  return said.length > 0 ? `${spec.help} (${said.join('; ')})` : spec.help;
}

/** Commander's option for one row; no commander default, so an unset flag lets the environment speak. */
export function toOption(spec: FlagSpec, defaults: Record<string, unknown>): Option {
  const option = new Option(spec.flag, helpText(spec, defaults));
  const parse = PARSERS[spec.kind ?? 'text'];
  if (parse) option.argParser(parse);
  if (spec.choices) option.choices([...spec.choices]);
  if (spec.hidden) option.hideHelp();
  return option;
}

/** Adds every row of the table to the command, in order. */
export function addFlags(command: Command, specs: readonly FlagSpec[], defaults: Record<string, unknown>): Command {
  for (const spec of specs) command.addOption(toOption(spec, defaults));
  return command;
}

/** The name commander gives a flag's value: `--room-idle` → `roomIdle`. */
export function flagAttribute(spec: FlagSpec): string {
  return new Option(spec.flag).attributeName();
}

/** Parsed flags → the options they set, in the option's own unit (a duration in ms for `milliseconds`). */
export function readFlags<Key extends string>(flags: Record<string, unknown>, specs: readonly FlagSpec<Key>[]): Partial<Record<Key, unknown>> {
  const options: Partial<Record<Key, unknown>> = {};
  for (const spec of specs) {
    const value = flags[flagAttribute(spec)];
    options[spec.key] = spec.kind === 'milliseconds' && typeof value === 'number' ? Math.round(value * 1000) : value;
  }
  return options;
}
