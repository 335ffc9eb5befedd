/**
 * How the report words memory figures. RSS is sampled from a live process, so a difference can come
 * out below zero (a heap that shrank between samples): it is then said as "less", never as a
 * negative size, and a ratio with a non-positive side is not a ratio at all.
 */

/** KiB with at most two decimals: 16.53 KiB, 0.4 KiB, 3 KiB. */
export function kib(value: number): string {
  return `${Math.abs(value).toLocaleString('en-US', { maximumFractionDigits: 2 })} KiB`;
}

/**
 * Growth in KiB, as a table cell: "16.53 KiB" when it grew, "0.4 KiB less" when it shrank, "0 KiB"
 * when it did neither at this precision.
 */
export function growth(value: number): string {
  const rounded = Number(value.toFixed(2));
  return rounded < 0 ? `${kib(rounded)} less` : kib(rounded);
}

/** A difference in KiB, in words: "about 12 KiB more", "about 3 KiB less", or "about the same" within `noise` KiB. */
export function difference(value: number, noise: number): string {
  if (Math.abs(value) < noise) return 'about the same';
  return `about ${kib(Math.round(value))} ${value > 0 ? 'more' : 'less'}`;
}

/** `a ÷ b` as "1.03×", or "–" when either side is not a positive amount (no ratio means anything then). */
export function sizeRatio(a: number, b: number, digits = 2): string {
  return a > 0 && b > 0 ? `${(a / b).toFixed(digits)}×` : '–';
}
