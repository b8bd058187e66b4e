/** Debian's Chromium, which the end-to-end tests and the timeline benchmark drive. */
export const CHROMIUM = '/usr/bin/chromium'

/** Headless, with no network services, updates, sync or first-run page. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
]
