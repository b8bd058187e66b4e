import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { CLI, ROOT } from '../support/run'
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs'

/** Where the end-to-end tests leave their screenshots (gitignored). */
export const SHOTS = resolve(ROOT, 'test/e2e/screenshots')

/** Why the browser tests cannot run here, or undefined when they can. */
export const skipReason: string | undefined = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install chromium)`
  : !existsSync(CLI) || !existsSync(resolve(ROOT, 'out/renderer/index.html'))
    ? 'the app is not built (npm run build)'
    : undefined

/** A running `verdict serve` and the address it printed. */
export interface Served {
  url: string
  server: ChildProcess
}

/** Starts `verdict serve` with the given paths and resolves with its address. */
export function serve(paths: string[]): Promise<Served> {
  const server = spawn(process.execPath, [CLI, 'serve', ...paths])
  return new Promise<Served>((done, fail) => {
    server.stdout!.on('data', (d: Buffer) => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString())
      if (m) done({ url: m[0], server })
    })
    server.on('exit', (code) => fail(new Error(`verdict serve exited with ${code}`)))
  })
}

/** Launches Chromium headless, without network services or a first-run page. */
export async function launch(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true })
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/** Opens a 1280×800 page at `url`, collecting page errors and console errors into the returned list. */
export async function openPage(
  browser: Browser,
  url: string
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  await page.goto(url)
  return { page, errors }
}

/** Saves a screenshot of the page under test/e2e/screenshots. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`) })
}
