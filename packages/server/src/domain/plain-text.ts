/**
 * Message text is Markdown (PROTOCOL §4.3); where it is shown as plain text — notification bodies,
 * which browsers and phones display verbatim — the markup goes and the words stay: emphasis,
 * heading and list marks, link addresses and code fences disappear, a link keeps its text, an image
 * its description, code its content. Parsed by markdown-it, as the web app renders it, so both
 * read a message the same way; raw HTML is text there and stays text here.
 */
import MarkdownIt, { type Token } from 'markdown-it';

const md = new MarkdownIt('default', { html: false, linkify: false });

/** Token types whose `content` is text a reader sees. */
const TEXT_TOKENS = new Set(['text', 'code_inline', 'code_block', 'fence', 'image', 'html_inline', 'html_block']);

function collect(tokens: readonly Token[], out: string[]): void {
  for (const token of tokens) {
    if (token.type === 'inline' && token.children) collect(token.children, out);
    else if (TEXT_TOKENS.has(token.type)) out.push(token.content);
    // Breaks and block boundaries separate words; whitespace is collapsed by the caller.
    else if (token.type === 'softbreak' || token.type === 'hardbreak' || (token.block && token.nesting !== 0)) out.push(' ');
  }
}

/** The words of a Markdown text, without its markup; whitespace is not normalized. */
export function markdownToPlainText(markdown: string): string {
  const out: string[] = [];
  collect(md.parse(markdown, {}), out);
  return out.join('');
}
