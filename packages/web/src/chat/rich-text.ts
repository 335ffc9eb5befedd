/**
 * Splits message text into plain runs, links and mentions, for rendering as React text nodes
 * (never as HTML). Only absolute http(s) URLs become links; trailing punctuation that usually
 * ends a sentence stays text.
 */

export type TextPart =
  | { kind: 'text'; text: string }
  | { kind: 'link'; text: string; href: string }
  | { kind: 'mention'; text: string; username: string };

const TOKEN = /(https?:\/\/[^\s<>"']+)|(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]{3,32})/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

function safeHref(candidate: string): string | undefined {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function splitText(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let plain = '';
  let last = 0;
  const flush = () => {
    if (plain) parts.push({ kind: 'text', text: plain });
    plain = '';
  };
  for (const match of text.matchAll(TOKEN)) {
    const at = match.index;
    plain += text.slice(last, at);
    last = at + match[0].length;
    if (match[1] !== undefined) {
      let url = match[1];
      // A closing bracket belongs to the URL only when the URL opened one.
      let tail = TRAILING.exec(url)?.[0] ?? '';
      if (tail.startsWith(')') && url.includes('(')) tail = tail.slice(1);
      url = url.slice(0, url.length - tail.length);
      const href = safeHref(url);
      if (href) {
        flush();
        parts.push({ kind: 'link', text: url, href });
        plain += tail;
      } else {
        plain += match[0];
      }
    } else {
      const lead = match[2] ?? '';
      let username = match[3] ?? '';
      // "@bob." at the end of a sentence mentions bob.
      const dots = /[.]+$/.exec(username)?.[0] ?? '';
      username = username.slice(0, username.length - dots.length);
      plain += lead;
      if (username.length >= 3) {
        flush();
        parts.push({ kind: 'mention', text: `@${username}`, username });
        plain += dots;
      } else {
        plain += `@${username}${dots}`;
      }
    }
  }
  plain += text.slice(last);
  flush();
  return parts;
}

/** True when `text` mentions `username` (case-insensitively). */
export function mentions(text: string, username: string): boolean {
  const lower = username.toLowerCase();
  return splitText(text).some((p) => p.kind === 'mention' && p.username.toLowerCase() === lower);
}
