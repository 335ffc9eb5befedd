/** Message text rendered as Markdown (rich-text.ts explains why its HTML is safe to insert). */
import { memo, useMemo } from 'react';
import { renderMarkdown } from './rich-text.js';
import './markdown.css';

export const MessageText = memo(function MessageText({ text, me }: { text: string; me: string }) {
  const html = useMemo(() => renderMarkdown(text, me), [text, me]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
});
