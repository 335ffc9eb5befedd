/** Markdown reduced to the words a plain-text notification shows. */
import { describe, expect, it } from 'vitest';
import { markdownToPlainText } from '../src/domain/plain-text.js';

const plain = (markdown: string) => markdownToPlainText(markdown).replace(/\s+/g, ' ').trim();

describe('markdownToPlainText', () => {
  it('keeps the words and drops the markup', () => {
    expect(plain('# Release **1.2** is ~~late~~, _out_.')).toBe('Release 1.2 is late, out.');
    expect(plain('- [x] tests\n- [ ] docs\n\n> quoted')).toBe('[x] tests [ ] docs quoted');
    expect(plain('see [the docs](https://example.com) and ![a chart](https://example.com/c.png)')).toBe('see the docs and a chart');
    expect(plain('run `npm test`:\n```js\nconst a = 1;\n```')).toBe('run npm test: const a = 1;');
    expect(plain('| a | b |\n|---|---|\n| 1 | 2 |')).toBe('a b 1 2');
  });

  it('leaves HTML and mentions as the text they are', () => {
    expect(plain('<script>alert(1)</script> hi @ann')).toBe('<script>alert(1)</script> hi @ann');
    expect(plain('a\\*b\\* &amp; c')).toBe('a*b* & c');
  });
});
