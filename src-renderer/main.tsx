import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app'
import { createHttpApi } from './http-api'
import { appStore } from './store/app-store'
import './app.css'

// In Electron the preload has set window.api; in browser mode the page talks to `verdict serve`.
window.api ??= createHttpApi()

// The theme lives on <html> so CSS variables (and the canvas, which reads them) follow it at once.
const applyTheme = (theme: string): void => {
  document.documentElement.dataset.theme = theme
}
if (window.matchMedia('(prefers-color-scheme: dark)').matches) appStore.getState().setTheme('dark')
applyTheme(appStore.getState().theme)
appStore.subscribe((s, before) => {
  if (s.theme !== before.theme) applyTheme(s.theme)
})

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>
)
