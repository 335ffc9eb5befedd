/**
 * Security headers on every HTTP answer (@fastify/helmet): the web app, the API, its Swagger UI
 * and the errors. The Content-Security-Policy is the second line of defence against XSS: React
 * escapes what people type, and should anything slip through, no script but the app's own
 * bundles may run, and nothing may reach another origin.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * What the web app (Vite build: external module scripts and stylesheets, no inline script) and
 * Swagger UI need, and no more.
 *
 * - `style-src 'unsafe-inline'`: React's `style` prop is applied through the CSSOM, which CSP
 *   does not restrict, but CodeMirror (style-mod) and charting libraries insert `<style>`
 *   elements at run time. Inline CSS cannot run script; what it could leak through `url()` is
 *   held to this origin by `img-src` and `font-src`.
 * - `img-src data: blob:`: image previews of picked files, canvas exports, icons in CSS.
 * - `connect-src 'self'` covers the page's own `ws:`/`wss:` origin as well (CSP Level 3).
 * - No `upgrade-insecure-requests`: on a plain-HTTP LAN install it would send the app's own
 *   requests to an HTTPS port that does not exist.
 */
const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'worker-src': ["'self'", 'blob:'],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // Never framed (clickjacking): the header for browsers that predate frame-ancestors.
    xFrameOptions: { action: 'deny' },
    // Nothing the app links to needs to know which room or file a person was looking at.
    referrerPolicy: { policy: 'no-referrer' },
    // Only over HTTPS does a browser honour it. Not includeSubDomains: Switchboard often runs on
    // one subdomain of an organisation and must not decide for its siblings.
    strictTransportSecurity: { maxAge: 180 * 24 * 60 * 60, includeSubDomains: false },
  });
}
