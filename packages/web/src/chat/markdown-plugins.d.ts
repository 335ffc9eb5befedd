/** Types of the markdown-it plugins, which ship none. */
declare module 'markdown-it-emoji' {
  import type { PluginSimple } from 'markdown-it';
  /** Every GitHub `:shortcode:` and the emoticons. */
  export const full: PluginSimple;
  export const light: PluginSimple;
  export const bare: PluginSimple;
}

declare module 'markdown-it-task-lists' {
  import type { PluginWithOptions } from 'markdown-it';
  /** `enabled: false` renders the checkboxes disabled. */
  const taskLists: PluginWithOptions<{ enabled?: boolean; label?: boolean; labelAfter?: boolean }>;
  export default taskLists;
}
