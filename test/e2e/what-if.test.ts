import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectInputs } from '../../src-main/cli/collect-inputs'
import { analyse } from '../../src-main/engine/analyse'
import { NFLOG_CHANGE, SAMPLE, nflogFlow } from '../unit/main/sample-what-if'
import { launch, openPage, serve, shot, skipReason, type Served } from './browser'

describe.skipIf(skipReason !== undefined || !existsSync(SAMPLE))(
  'what-if in browser mode, in Debian’s Chromium',
  () => {
    let browser: Browser
    let served: Served | undefined
    beforeAll(async () => {
      browser = await launch()
    })
    afterAll(async () => {
      await browser?.close()
      served?.server.kill()
    })

    it('tries the NFLOG-drop finding’s fix: the panel says it would resolve that finding’s flow', async () => {
      const incident = await analyse(collectInputs([SAMPLE]).files)
      const flow = nflogFlow(incident)
      const finding = incident.findings.find((f) => f.flows.includes(flow))!
      expect(finding.fix).toMatch(/^iptables /)
      served = await serve([])
      const { page, errors } = await openPage(browser, served.url)
      await page.locator('.findings li', { hasText: finding.title }).click()
      await expect.poll(() => page.locator('.detail h2').innerText()).toBe(finding.title)
      await page.getByRole('button', { name: 'Try this fix' }).click()
      const panel = page.locator('.what-if')
      const change = panel.locator('.what-if-change')
      await expect.poll(() => change.locator('.resolves').innerText()).toMatch(/would resolve/)
      // One change, the fix on its host, resolving exactly the finding's flows and nothing else.
      expect(await change.count()).toBe(1)
      expect(await change.locator('> code').innerText()).toBe(
        `${finding.cause.host}: ${finding.fix}`
      )
      const n = finding.flows.length
      expect(await change.locator('.resolves').innerText()).toBe(
        `would resolve ${n} failure${n === 1 ? '' : 's'}:`
      )
      const refs = change.locator('.flow-refs button.flow-ref')
      expect((await refs.allInnerTexts()).map((t) => t.split(' ')[0]).sort()).toEqual(
        [...finding.flows].sort()
      )
      expect(await change.innerText()).toContain('would change no other flow’s verdict')
      // The incident stayed, and the fix is still there to copy.
      expect(await page.locator('.detail h2').innerText()).toBe(finding.title)
      expect(await page.locator('.fix pre').innerText()).toBe(finding.fix)
      expect(await page.locator('.findings li').count()).toBe(incident.findings.length)
      await shot(page, 'what-if')
      // A resolved failure selects its flow.
      await refs.first().click()
      await expect
        .poll(() => page.locator('.detail .flow-detail h3').innerText())
        .toMatch(new RegExp(`^${flow} `))
      expect(await refs.first().getAttribute('class')).toContain('selected')

      // A change typed by hand: a wide ACCEPT resolves more, and changes flows that worked.
      await panel.getByLabel('Change to try').fill('server: iptables -I INPUT 1 -j ACCEPT')
      await panel.getByRole('button', { name: 'Try', exact: true }).click()
      await expect
        .poll(() => panel.locator('.what-if-change > code').first().innerText())
        .toBe('server: iptables -I INPUT 1 -j ACCEPT')
      await expect.poll(() => panel.locator('.also').count()).toBe(1)
      expect(await panel.locator('.also').innerText()).toMatch(
        /^would also change \d+ other flows?:$/
      )
      expect(await panel.locator('.resolves').innerText()).toMatch(/^would resolve \d+ failures?:$/)
      expect(await panel.locator('.before-after').first().innerText()).toMatch(/ → accept$/)
      await shot(page, 'what-if-typed')
      await page.getByRole('button', { name: 'Theme' }).click()
      await shot(page, 'what-if-dark')
      // One the engine cannot read says why, and claims nothing.
      await panel.getByLabel('Change to try').fill(NFLOG_CHANGE.replace('iptables', 'iptablez'))
      await panel.getByRole('button', { name: 'Try', exact: true }).click()
      await expect.poll(() => panel.locator('.what-if-change .warning').count()).toBe(1)
      expect(await panel.locator('.resolves, .also').count()).toBe(0)
      expect(errors).toEqual([])
    })
  }
)
