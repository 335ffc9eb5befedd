/**
 * Vite configuration of the Switchboard web app. The SDK and the protocol are compiled from their
 * sources (the `source` export condition), so the app builds without building them first.
 * `npm run dev -w @switchboard/web` proxies the API and Socket.IO to a server on :3000
 * (`SWITCHBOARD_URL` points elsewhere).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

const target = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/api': { target, changeOrigin: true },
      '/socket.io': { target, changeOrigin: true, ws: true },
    },
  },
});
