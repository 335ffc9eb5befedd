/** Entry point of the Switchboard web app: one AppModel for the page's origin, rendered by React. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './zod-jitless.js';
import { AppModel } from './app-model.js';
import { App } from './app.js';
import './styles.css';

const model = new AppModel(window.location.origin);
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App model={model} />
  </StrictMode>,
);
