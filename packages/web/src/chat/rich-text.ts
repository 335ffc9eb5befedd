/**
 * Message text is Markdown (PROTOCOL §4.3): CommonMark with GFM tables, strikethrough and task
 * lists, `:shortcode:` emoji, bare URLs as links, syntax-highlighted code blocks and highlighted
 * `@mentions`, rendered to HTML by markdown-it.
 *
 * The HTML is safe to put into the page because of how it is made, not by cleaning it afterwards:
 * `html: false` turns every tag a person types into text; links keep only http(s) and mailto
 * addresses (`validateLink`) and open in a new tab without access to this one; images are off (the
 * Content-Security-Policy would block other origins' images anyway, and they would tell a stranger's
 * server who read the message); every text the renderer writes is escaped by markdown-it, the
 * mentions' too. The task-list checkboxes are disabled inputs, and highlight.js (highlight.ts) emits
 * only `<span class>` markup around escaped text, which the CSP (no inline script) permits.
 */
import MarkdownIt, { type StateCore, type Token } from 'markdown-it';
import { full as emoji } from 'markdown-it-emoji';
import taskLists from 'markdown-it-task-lists';

/** highlight.js, once loaded: it is its own chunk, fetched when the first code block with a language shows. */
let highlighter: ((code: string, language: string) => string) | undefined;
let loading: Promise<void> | undefined;

/** Loads the highlighter (once); messages rendered before it arrived must be rendered again. */
export function loadHighlighter(): Promise<void> {
  loading ??= import('./highlight.js').then(
    (m) => {
      highlighter = m.highlight;
    },
    // Offline or a failed chunk: code stays plain rather than breaking the message.
    () => undefined,
  );
  return loading;
}

/** True when `text` has a fenced code block naming a language and the highlighter is not here (yet). */
export function awaitsHighlighter(text: string): boolean {
  return highlighter === undefined && /^ {0,3}(?:```|~~~)[ \t]*[^\s`~]/m.test(text);
}

/** Addresses a link may have: anything else (javascript:, data:, relative paths) stays text. */
const SAFE_LINK = /^(?:https?:\/\/|mailto:)/i;

/** `@username` as the server reads mentions (domain/messages.ts): 3–32 of `[A-Za-z0-9_.-]`, not inside a word or address. */
const MENTION = /(?<![A-Za-z0-9_.-])@([A-Za-z0-9_.-]{3,32})/g;

/** What a render needs to know about the reader (a type, not an interface: markdown-it's env is a string-keyed record). */
type RenderEnv = {
  /** The reader's username, lowercased: their own mentions stand out. */
  me: string;
};

const md = new MarkdownIt('default', {
  html: false,
  linkify: true,
  // Chat messages are typed line by line: a line break is a line break.
  breaks: true,
  // '' leaves the block to markdown-it, which escapes it: no language, an unknown one, or not loaded yet.
  highlight: (code, lang) => highlighter?.(code, lang.trim().toLowerCase()) ?? '',
})
  .disable('image')
  .use(emoji)
  .use(taskLists, { enabled: false });

md.validateLink = (url) => SAFE_LINK.test(url.trim());
// Fenced blocks with a language get the `hljs` class the highlight.js theme styles.
md.options.langPrefix = 'hljs language-';

const renderToken = md.renderer.renderToken.bind(md.renderer);
md.renderer.rules.link_open = (tokens, idx, options) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer nofollow');
  }
  return renderToken(tokens, idx, options);
};
md.renderer.rules.mention = (tokens, idx, _options, env) => {
  const name = tokens[idx]?.content ?? '';
  const me: unknown = env?.me;
  const own = name.toLowerCase() === me;
  return `<span class="${own ? 'mention mention-me' : 'mention'}">@${md.utils.escapeHtml(name)}</span>`;
};

/** Splits the text tokens of inline content into text and `mention` tokens, outside links and code. */
function markMentions(state: StateCore): void {
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    const out: Token[] = [];
    let inLink = 0;
    for (const token of block.children) {
      if (token.type === 'link_open') inLink++;
      if (token.type === 'link_close') inLink--;
      if (token.type !== 'text' || inLink > 0 || !token.content.includes('@')) {
        out.push(token);
        continue;
      }
      let last = 0;
      for (const match of token.content.matchAll(MENTION)) {
        // "@bob." at the end of a sentence mentions bob; the dot stays text.
        const name = (match[1] ?? '').replace(/\.+$/, '');
        if (name.length < 3) continue;
        out.push(textToken(state, token.content.slice(last, match.index)));
        const mention = new state.Token('mention', '', 0);
        mention.content = name;
        out.push(mention);
        last = match.index + 1 + name.length;
      }
      out.push(textToken(state, token.content.slice(last)));
    }
    block.children = out.filter((t) => t.type !== 'text' || t.content.length > 0);
  }
}

function textToken(state: StateCore, content: string): Token {
  const token = new state.Token('text', '', 0);
  token.content = content;
  return token;
}

md.core.ruler.push('mentions', markMentions);

/** The message text as HTML, safe to insert into the page (see the module comment). */
export function renderMarkdown(text: string, me: string): string {
  const env: RenderEnv = { me: me.toLowerCase() };
  return md.render(text, env);
}

/** True when `text` mentions `username` (case-insensitively) where it shows as a mention: not in code or a link. */
export function mentions(text: string, username: string): boolean {
  if (!text.includes('@')) return false;
  const lower = username.toLowerCase();
  const visit = (tokens: readonly Token[]): boolean =>
    tokens.some((t) => (t.type === 'mention' && t.content.toLowerCase() === lower) || (t.children !== null && visit(t.children)));
  return visit(md.parse(text, { me: lower } satisfies RenderEnv));
}
