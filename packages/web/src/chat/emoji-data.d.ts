/** markdown-it-emoji's shortcode table (name → emoji), shipped as plain data without types. */
declare module 'markdown-it-emoji/lib/data/full.mjs' {
  const emojies: Record<string, string>;
  export default emojies;
}
