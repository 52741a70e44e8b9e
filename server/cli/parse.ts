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
