/**
 * Client message ids: URL-safe and unique, so a retried `message:send` is recognised by the
 * server as the same message. `crypto.randomUUID` exists only in secure contexts in browsers
 * (and not in old ones), hence the fallbacks.
 */
export function newClientMsgId(): string {
  const c: Partial<Crypto> | undefined = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof c?.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${Date.now().toString(36)}-${hex}`;
}
