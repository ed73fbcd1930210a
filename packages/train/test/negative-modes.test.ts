import { describe, expect, it } from 'vitest';
import { addNegativeModes, formatNegativeModes } from '../src/tracking/negative-modes.js';

describe('negative-mode counts', () => {
  it('sums records and skips missing ones', () => {
    expect(
      addNegativeModes([
        { 'outside-downsampled': 7, 'outside-crop': 1 },
        undefined,
        { 'outside-downsampled': 8 },
      ]),
    ).toEqual({ 'outside-downsampled': 15, 'outside-crop': 1 });
  });

  it('formats shares largest first, with the total once', () => {
    expect(formatNegativeModes({ 'outside-crop': 16, 'outside-downsampled': 1424 })).toBe(
      'outside-downsampled 98.9% (1424 of 1440), outside-crop 1.1% (16)',
    );
    expect(formatNegativeModes({})).toBe('none');
    expect(formatNegativeModes(undefined)).toBe('none');
  });
});
