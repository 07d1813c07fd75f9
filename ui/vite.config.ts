import { defineConfig } from 'vitest/config';

// The window is served by Tauri from ui/dist under a strict CSP
// (script-src 'self'): one external module script, no inline scripts.
export default defineConfig({
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    target: 'es2021',
    outDir: 'dist',
    emptyOutDir: true,
    // Keep everything a file: no data: URLs or inlined module preloads.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.ts'],
  },
});
