/** Message text rendered as Markdown (rich-text.ts explains why its HTML is safe to insert). */
import { memo, useEffect, useMemo, useState } from 'react';
import { awaitsHighlighter, loadHighlighter, renderMarkdown } from './rich-text.js';
import './markdown.css';

export const MessageText = memo(function MessageText({ text, me }: { text: string; me: string }) {
  // A code block renders plain at once, and again highlighted when highlight.js has arrived (if
  // it cannot be loaded, `waiting` stays true and the code stays plain).
  const waiting = awaitsHighlighter(text);
  const [, setArrivals] = useState(0);
  useEffect(() => {
    if (!waiting) return;
    let live = true;
    void loadHighlighter().then(() => live && setArrivals((n) => n + 1));
    return () => {
      live = false;
    };
  }, [waiting]);
  const html = useMemo(() => renderMarkdown(text, me), [text, me, waiting]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
});
