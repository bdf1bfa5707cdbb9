import { describe, expect, it } from 'vitest';
import { cutAtWord, forTerminal, linesForTerminal } from '../../lib/domain/text.ts';

describe('forTerminal', () => {
  it('shows an id that would clear the screen, set the title and ring the bell as visible escapes', () => {
    expect(forTerminal('\u001b[2J\u001b]0;pwn\u0007')).toBe('\\u001b[2J\\u001b]0;pwn\\u0007');
  });

  it.each([
    ['carriage return', 'ok\rLIQUIDATION', 'ok\\u000dLIQUIDATION'],
    ['newline and tab', 'a\nb\tc', 'a\\u000ab\\u0009c'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\u0000b\\u007f'],
    ['C1 controls (8-bit CSI)', 'a\u0080\u009b2Jb\u009f', 'a\\u0080\\u009b2Jb\\u009f'],
    [
      'bidi overrides and isolates',
      'a\u202a\u202b\u202c\u202d\u202eb\u2066\u2067\u2068\u2069',
      'a\\u202a\\u202b\\u202c\\u202d\\u202eb\\u2066\\u2067\\u2068\\u2069',
    ],
  ])('escapes %s', (_what, text, shown) => {
    expect(forTerminal(text)).toBe(shown);
  });

  it('leaves printable text alone, accents, symbols and emoji included', () => {
    const text = 'acc-0042 Zürich ✓ σ → 11.84% ✖ 🚀 "quoted" \\path';
    expect(forTerminal(text)).toBe(text);
  });
});

describe('linesForTerminal', () => {
  it('keeps line breaks and escapes everything else', () => {
    expect(linesForTerminal('table\n\u001b[2Jrow\r\n')).toBe('table\n\\u001b[2Jrow\\u000d\n');
  });
});

describe('cutAtWord', () => {
  it('leaves a text within the limit unchanged', () => {
    expect(cutAtWord('binance returned HTTP 503', 40)).toBe('binance returned HTTP 503');
  });

  it('cuts a longer text at the last word boundary before the limit and marks the cut', () => {
    const text = 'binance BTC /api/v3/klines returned HTTP 503: upstream connect error or disconnect';
    const cut = cutAtWord(text, 50);
    expect(cut).toBe('binance BTC /api/v3/klines returned HTTP 503:…');
    expect(cut.length).toBeLessThanOrEqual(50);
  });

  it('cuts one long word where it must rather than show nothing', () => {
    expect(cutAtWord('x'.repeat(30), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('never splits a surrogate pair', () => {
    const cut = cutAtWord('🚀'.repeat(10), 6);
    expect(cut).toBe('🚀🚀…');
  });
});
