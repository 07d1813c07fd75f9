// Entry: the real backend inside Tauri; the fake one in a browser
// (`npm run dev`, then open http://localhost:1420/?fake, or ?fake=empty).

import './style.css';
import { inTauri, tauriBackend, type Backend } from './api';
import { startApp } from './app';

async function backend(): Promise<Backend> {
  const wantFake = new URLSearchParams(location.search).has('fake');
  if (inTauri() && !wantFake) return tauriBackend();
  const { previewBackend } = await import('./fake');
  return previewBackend();
}

const root = document.getElementById('app');
if (root) {
  backend()
    .then((b) => startApp(root, b))
    .catch((e: unknown) => {
      root.textContent = `Tether’s window could not start: ${String(e)}`;
    });
}
