import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app'
import { createHttpApi } from './http-api'
import './app.css'

// In Electron the preload has set window.api; in browser mode the page talks to `verdict serve`.
window.api ??= createHttpApi()

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>
)
