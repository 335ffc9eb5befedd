/**
 * Turns off zod's compiled validators, and so its probe for them: `new Function`, which the
 * server's Content-Security-Policy (no 'unsafe-eval') refuses, reporting a violation on every page
 * load. zod decides when each schema is created, so main.tsx imports this before anything that
 * defines one (the protocol's schemas are created as their module loads).
 */
import { z } from 'zod';

z.config({ jitless: true });
