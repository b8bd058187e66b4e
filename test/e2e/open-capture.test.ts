import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, CORPUS, ROOT } from '../support/run'

const CHROMIUM = '/usr/bin/chromium'
const RENDERER = resolve(ROOT, 'out/renderer/index.html')
const reason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install chromium)`
  : !existsSync(CLI) || !existsSync(RENDERER)
    ? 'the app is not built (npm run build)'
    : undefined
if (reason) console.warn(`skipping the browser-mode end-to-end tests: ${reason}`)

const SHOTS = resolve(ROOT, 'test/e2e/screenshots')

describe.skipIf(reason !== undefined)('browser mode, in Debian’s Chromium', () => {
  let server: ChildProcess
  let url = ''
  let browser: Browser

  beforeAll(async () => {
    server = spawn(process.execPath, [
      CLI,
      'serve',
      resolve(CORPUS, 'pcaps/zeek_smtp.pcap'),
      resolve(CORPUS, 'pcaps/tcpdump_nflog.pcap')
    ])
    url = await new Promise<string>((done, fail) => {
      server.stdout!.on('data', (d: Buffer) => {
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString())
        if (m) done(m[0])
      })
      server.on('exit', (code) => fail(new Error(`verdict serve exited with ${code}`)))
    })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    })
    mkdirSync(SHOTS, { recursive: true })
  })

  afterAll(async () => {
    await browser?.close()
    server?.kill()
  })

  it('opens the captures given to serve: files with their format and counts, packets decoded', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    await page.goto(url)
    await page.locator('.file-list li').first().waitFor()
    expect(await page.locator('.file-list li').count()).toBe(2)
    await expect
      .poll(() => page.locator('.file-list li').first().innerText())
      .toContain('pcap · 125 packets')
    // The frag-needed the smtp capture carries, as the packet table shows it.
    const rows = page.locator('table.packets tbody tr')
    expect(await rows.count()).toBe(125)
    expect(await rows.nth(25).innerText()).toContain('type 3 code 4 mtu 1492')
    await page.locator('.file-list li').nth(1).click()
    await expect.poll(() => rows.count()).toBe(4)
    await page.screenshot({ path: resolve(SHOTS, 'open-capture.png') })
    expect(errors).toEqual([])
  })
})
