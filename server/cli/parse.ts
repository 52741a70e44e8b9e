/** Commander value parsers: a clear message for text where a number belongs. */
import { InvalidArgumentError } from 'commander';

export function numberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

export function numberList(value: string): number[] {
  return value.split(',').map((part) => numberOption(part.trim()));
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "30m", "24h", "7d", "500ms" or a plain number of seconds → seconds. */
export function durationOption(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!match) throw new InvalidArgumentError(`"${value}" is not a duration (like 90s, 30m, 24h, 7d)`);
  return Number(match[1]) * DURATION_UNITS[(match[2] ?? 's').toLowerCase()]!;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "256M", "1G", "500k" or a plain number of bytes → bytes (binary units). */
export function byteSizeOption(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  if (!match) throw new InvalidArgumentError(`"${value}" is not a size (like 500M, 2G or a number of bytes)`);
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!);
}

/** A comma-separated list, trimmed, empty entries dropped. */
export function listOption(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

/**
 * Seconds as `durationOption` reads them, in the largest of h, m, s, ms that keeps a whole
 * number (600 → "10m", 86400 → "24h"): how a help text shows a duration's default.
 */
export function formatDuration(seconds: number): string {
  // Days from two on: a day reads better as "24h".
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const count = seconds / DURATION_UNITS[unit]!;
    if (count >= (unit === 'd' ? 2 : 1) && Number.isInteger(count)) return `${count}${unit}`;
  }
  return `${Math.round(seconds * 1000)}ms`;
}

/** Bytes as `byteSizeOption` reads them, in the largest binary unit that keeps a whole number (256 MiB → "256M"). */
export function formatByteSize(bytes: number): string {
  for (const unit of ['t', 'g', 'm', 'k'] as const) {
    const count = bytes / SIZE_UNITS[unit]!;
    if (count >= 1 && Number.isInteger(count)) return `${count}${unit === 'k' ? 'k' : unit.toUpperCase()}`;
  }
  return String(bytes);
}
