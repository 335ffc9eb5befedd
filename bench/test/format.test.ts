/** How the bench report words memory figures: never a negative size, never a ratio of a shrink. */
import { describe, expect, it } from 'vitest';
import { difference, growth, kib, sizeRatio } from '../src/format.js';

describe('memory figures in the report', () => {
  it('says growth as a size and a shrink as "less"', () => {
    expect(growth(16.534)).toBe('16.53 KiB');
    expect(growth(1234.5)).toBe('1,234.5 KiB');
    expect(growth(-0.4)).toBe('0.4 KiB less');
    expect(growth(-12)).toBe('12 KiB less');
    expect(growth(-0.001)).toBe('0 KiB');
    expect(growth(0)).toBe('0 KiB');
    expect(kib(-3.256)).toBe('3.26 KiB');
  });

  it('words differences, with the noise band as "about the same"', () => {
    expect(difference(12.4, 2)).toBe('about 12 KiB more');
    expect(difference(-7.6, 2)).toBe('about 8 KiB less');
    expect(difference(1.9, 2)).toBe('about the same');
    expect(difference(-1.9, 2)).toBe('about the same');
  });

  it('gives ratios of positive amounts only', () => {
    expect(sizeRatio(16.53, 16.09)).toBe('1.03×');
    expect(sizeRatio(16.59, 16.41, 3)).toBe('1.011×');
    expect(sizeRatio(-0.4, 16)).toBe('–');
    expect(sizeRatio(16, -0.4)).toBe('–');
    expect(sizeRatio(16, 0)).toBe('–');
  });

  it('never prints a minus sign before a size', () => {
    for (const value of [-1000, -20.5, -2, -0.5, -0.004]) {
      expect(growth(value)).not.toMatch(/-|−/);
      expect(difference(value, 0.001)).not.toMatch(/-|−/);
    }
  });
});
