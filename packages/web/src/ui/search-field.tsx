/**
 * The search box of the admin pages: it reports what to look for once typing pauses, so finding a
 * name costs one request rather than one per keystroke.
 */
import { useEffect, useState } from 'react';
import './search-field.css';

/** Wait after the last keystroke before searching. */
const SEARCH_DELAY_MS = 250;

export function SearchField({ label, placeholder, onSearch }: { label: string; placeholder: string; onSearch: (query: string) => void }) {
  const [text, setText] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => onSearch(text.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [onSearch, text]);
  return (
    <label className="field admin-search">
      <span>{label}</span>
      <input type="search" name="query" placeholder={placeholder} value={text} onChange={(e) => setText(e.target.value)} />
    </label>
  );
}
