/** Message text as React text nodes: links for http(s) URLs, highlighted mentions, never HTML. */
import { memo } from 'react';
import { splitText } from './rich-text.js';

export const MessageText = memo(function MessageText({ text, me }: { text: string; me: string }) {
  const lower = me.toLowerCase();
  return (
    <>
      {splitText(text).map((part, i) => {
        switch (part.kind) {
          case 'link':
            return (
              <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">
                {part.text}
              </a>
            );
          case 'mention':
            return (
              <span key={i} className={part.username.toLowerCase() === lower ? 'mention mention-me' : 'mention'}>
                {part.text}
              </span>
            );
          default:
            return <span key={i}>{part.text}</span>;
        }
      })}
    </>
  );
});
