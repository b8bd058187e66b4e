import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectInputs } from '../../src-main/cli/collect-inputs'
import { analyse } from '../../src-main/engine/analyse'
import type { Incident } from '../../src-main/shared/incident'
import { CORPUS, ROOT } from '../support/run'
import { launch, openPage, serve, shot, skipReason, type Served } from './browser'
import { writeSynFlood } from './big-capture'
import { withFindings } from './incident-fixture'
import { isoToUs } from '../../src-renderer/timeline/build-timeline'
import { LABEL_PX } from '../../src-renderer/timeline/sizes'

const SAMPLE = resolve(ROOT, 'resources/sample-incident')
const RULES = resolve(CORPUS, 'iptables/iptables_policy-drop.txt')
const FILES = [
  resolve(CORPUS, 'pcaps/tcpdump_tfo-5c1fa7f9ae91.pcap'),
  resolve(CORPUS, 'pcaps/zeek_smtp.pcap'),
  resolve(CORPUS, 'pcaps/zeek_vlan-collisions.pcap'),
  RULES
]
if (skipReason) console.warn(`skipping the browser-mode end-to-end tests: ${skipReason}`)

/** The engine's own answer for the same paths: the oracle the page's counts are checked against. */
async function engineIncident(paths: string[]): Promise<Incident> {
  return analyse(collectInputs(paths).files)
}

function countByOutcome(incident: Incident): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of incident.flows) out[f.outcome] = (out[f.outcome] ?? 0) + 1
  return out
}

describe.skipIf(skipReason !== undefined)(
  'the incident in browser mode, in Debian’s Chromium',
  () => {
    let browser: Browser
    const servers: Served[] = []
    const tmp = mkdtempSync(join(tmpdir(), 'verdict-e2e-'))

    beforeAll(async () => {
      browser = await launch()
    })
    afterAll(async () => {
      await browser?.close()
      for (const s of servers) s.server.kill()
    })
    const start = async (paths: string[]): Promise<string> => {
      const s = await serve(paths)
      servers.push(s)
      return s.url
    }

    it.skipIf(!existsSync(SAMPLE))(
      'in the sample incident, a SYN-timeout lane opens its finding and the rule it names, in its snapshot',
      async () => {
        const incident = await engineIncident([SAMPLE])
        const lanes = incident.flows
          .filter((f) => f.outcome === 'syn-timeout')
          .sort((a, b) => (a.first < b.first ? -1 : 1))
        const finding = incident.findings.find((f) => f.flows.includes(lanes[0].id))
        expect(finding).toBeDefined()
        const { page, errors } = await openPage(browser, await start([]))
        const canvas = page.locator('.timeline canvas')
        await canvas.waitFor()
        await canvas.click({ position: { x: 120, y: 9 } })
        await expect.poll(() => page.locator('.detail h2').innerText()).toBe(finding!.title)
        expect(await page.locator('.evidence > li').count()).toBe(finding!.evidence.length)
        if (finding!.cause.line !== undefined) {
          await page.locator('.cause-rule').click()
          const current = page.locator('.rule-line.current')
          await current.waitFor()
          expect(Number(await current.getAttribute('data-line'))).toBe(finding!.cause.line)
          expect(await current.getAttribute('class')).toContain('marked')
          // The snapshot line as written ends with the rule the finding quotes.
          expect(await current.locator('code').innerText()).toContain(
            finding!.cause.rule!.replace(/^\[\d+:\d+\]\s*/, '')
          )
        }
        await shot(page, 'sample-syn-timeout')
        // Hovering the lane's first SYN shows the packet: where the scale puts its time.
        const us = incident.flows.flatMap((f) => [isoToUs(f.first), isoToUs(f.last)])
        const [lo, hi] = [Math.min(...us), Math.max(...us)]
        const pad = Math.max(1000, (hi - lo) * 0.03)
        const box = (await canvas.boundingBox())!
        const plotW = box.width - LABEL_PX - 40
        const syn = lanes[0].keyPackets!.find((k) => k.what === 'syn')!
        const x = LABEL_PX + ((isoToUs(syn.time) - (lo - pad)) / (hi - lo + 2 * pad)) * plotW
        await canvas.hover({ position: { x: x + 0.5, y: 9 } })
        await expect.poll(() => page.locator('.timeline .tip').innerText()).toMatch(/^SYN · /)
        // The tip names every capture point that saw this SYN.
        const tip = await page.locator('.timeline .tip').innerText()
        for (const point of syn.seenAt) expect(tip).toContain(point)
        await shot(page, 'sample-hover')
        // A finding resting on a log line opens that line in its file.
        const logged = incident.findings.find((f) => f.evidence.some((e) => e.kind === 'log'))
        if (logged) {
          const line = logged.evidence.find((e) => e.kind === 'log')!
          await page.locator('.findings li', { hasText: logged.title }).click()
          await page.locator('.ev-log button.open').first().click()
          const current = page.locator('.rule-line.current')
          await expect
            .poll(() => current.getAttribute('data-line'))
            .toBe(String(line.kind === 'log' && line.line))
          expect(await current.locator('code').innerText()).toBe(line.kind === 'log' && line.raw)
          await shot(page, 'sample-log-line')
        }
        expect(errors).toEqual([])
      }
    )

    it('opens the incident (the sample, where bundled) with the engine’s counts by outcome', async () => {
      const paths = existsSync(SAMPLE) ? [] : FILES
      const expected = countByOutcome(await engineIncident(paths.length ? paths : [SAMPLE]))
      const { page, errors } = await openPage(browser, await start(paths))
      await page.locator('.summary .outcomes li').first().waitFor()
      const shown: Record<string, number> = {}
      for (const li of await page.locator('.summary .outcomes li').all()) {
        const outcome = (await li.getAttribute('data-outcome'))!
        shown[outcome] = Number((await li.locator('.n').innerText()).replace(/\D/g, ''))
      }
      expect(shown).toEqual(expected)
      const total = Object.values(expected).reduce((a, b) => a + b, 0)
      await expect
        .poll(() => page.locator('.filter-bar .shown').innerText())
        .toBe(`${total} of ${total}`)
      expect(Number(await page.locator('.timeline').getAttribute('data-lanes'))).toBe(total)
      await shot(page, 'incident-light')
      // The first finding, by the keyboard, when the engine found any.
      await page.keyboard.press('ArrowDown')
      if ((await page.locator('.findings li').count()) > 0) {
        await page.locator('.detail h2').waitFor()
        await shot(page, 'incident-first-finding')
      }
      const theme = () => page.locator('html').getAttribute('data-theme')
      const other = (await theme()) === 'dark' ? 'light' : 'dark'
      await page.getByRole('button', { name: 'Theme' }).click()
      await expect.poll(theme).toBe(other)
      await shot(page, `incident-${other}`)
      expect(errors).toEqual([])
    })

    it('clicking a SYN-timeout lane shows its finding, evidence, the walk and the rule highlighted', async () => {
      const incident = withFindings(await engineIncident(FILES), RULES)
      const finding = incident.findings[0]
      expect(finding).toBeDefined()
      const fixture = join(tmp, 'incident.json')
      writeFileSync(fixture, JSON.stringify(incident))
      const { page, errors } = await openPage(browser, await start([fixture]))
      const canvas = page.locator('.timeline canvas')
      await canvas.waitFor()
      // Lanes are grouped by outcome, SYN timeouts first: the first lane is one.
      await canvas.click({ position: { x: 120, y: 9 } })
      await expect.poll(() => page.locator('.detail h2').innerText()).toBe(finding.title)
      expect(await page.locator('.evidence > li').count()).toBe(finding.evidence.length)
      expect(await page.locator('.packet-walk .step.deciding code').innerText()).toBe(
        finding.cause.rule
      )
      expect(await page.locator('.findings li.selected .title').innerText()).toBe(finding.title)
      await page.locator('.cause-rule').click()
      const current = page.locator('.rule-line.current')
      await current.waitFor()
      expect(Number(await current.getAttribute('data-line'))).toBe(finding.cause.line)
      expect(await current.getAttribute('class')).toContain('marked')
      expect(await current.locator('code').innerText()).toBe(finding.cause.rule)
      await shot(page, 'finding-rule')
      await page.locator('.ev-packet button.open').click()
      await page.locator('.packet-tree').waitFor()
      const frame = Number(
        finding.evidence[0].kind === 'packet' && finding.evidence[0].frames![0].split('#')[1]
      )
      expect(await page.locator('.packet-head').innerText()).toContain(`#${frame}`)
      expect(await page.locator('.packet-tree').innerText()).toContain(
        'Transmission Control Protocol'
      )
      await shot(page, 'finding-packet')
      // One lane per host pair: the lanes hold every conversation between two hosts.
      const pairs = new Set(incident.flows.map((f) => [f.src, f.dst].sort().join(' ')))
      await page.getByLabel('Lanes').selectOption('host-pair')
      await expect
        .poll(async () => Number(await page.locator('.timeline').getAttribute('data-lanes')))
        .toBe(pairs.size)
      await shot(page, 'host-pairs')
      await page.keyboard.press('Escape')
      await expect.poll(() => page.locator('.findings li.selected').count()).toBe(0)
      await page.keyboard.press('ArrowDown')
      await expect.poll(() => page.locator('.findings li.selected').count()).toBe(1)
      expect(errors).toEqual([])
    })

    it('filters the flows table and zooms the timeline', async () => {
      const incident = await engineIncident(FILES)
      const { page, errors } = await openPage(browser, await start(FILES))
      await page.locator('.flow-row[data-flow]').first().waitFor()
      await page.keyboard.press('/')
      await page.keyboard.type('3.3.3.3')
      const expected = incident.flows.filter((f) => f.src === '3.3.3.3' || f.dst === '3.3.3.3')
      expect(expected.length).toBeGreaterThan(0)
      await expect.poll(() => page.locator('.flow-row[data-flow]').count()).toBe(expected.length)
      expect(
        (
          await page
            .locator('.flow-row[data-flow]')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-flow')))
        ).sort()
      ).toEqual(expected.map((f) => f.id).sort())
      await shot(page, 'flows-filtered')
      await page.keyboard.press('Escape')
      const timeline = page.locator('.timeline')
      const before = Number(await timeline.getAttribute('data-span-us'))
      for (let i = 0; i < 3; i++) await page.keyboard.press('+')
      await expect
        .poll(async () => Number(await timeline.getAttribute('data-span-us')))
        .toBeLessThan(before / 7)
      await shot(page, 'timeline-zoomed')
      await page.keyboard.press('0')
      await expect
        .poll(async () => Number(await timeline.getAttribute('data-span-us')))
        .toBe(before)
      // Brushing 100 px of the axis zooms to the time those pixels cover.
      const axis = (await page.locator('.timeline-axis').boundingBox())!
      const plotW = axis.width - LABEL_PX - 40
      await page.mouse.move(axis.x + LABEL_PX + 100, axis.y + 13)
      await page.mouse.down()
      await page.mouse.move(axis.x + LABEL_PX + 150, axis.y + 13, { steps: 5 })
      await page.mouse.move(axis.x + LABEL_PX + 200, axis.y + 13, { steps: 5 })
      await page.mouse.up()
      await expect
        .poll(async () => Number(await timeline.getAttribute('data-span-us')) / before)
        .toBeCloseTo(100 / plotW, 2)
      await shot(page, 'timeline-brushed')
      expect(errors).toEqual([])
    })

    it('shows a garbled file’s error beside it while the other files load', async () => {
      const garbled = join(tmp, 'garbled.pcap')
      writeFileSync(garbled, Buffer.from('this is not a capture, just words\n'.repeat(40)))
      const truncated = join(tmp, 'truncated.pcap')
      const { readFileSync } = await import('node:fs')
      const smtp = readFileSync(FILES[1])
      writeFileSync(truncated, smtp.subarray(0, Math.floor(smtp.length / 2)))
      const paths = [FILES[0], garbled, truncated]
      const incident = await engineIncident(paths)
      const { page, errors } = await openPage(browser, await start(paths))
      const item = page.locator('.file-list li', { hasText: 'garbled.pcap' })
      await item.locator('.error').waitFor()
      const message = incident.inputs.find((i) => i.path === garbled)!.errors[0]
      expect(await item.locator('.error').innerText()).toBe(message)
      const cut = page.locator('.file-list li', { hasText: 'truncated.pcap' })
      expect(await cut.locator('.warning').count()).toBeGreaterThan(0)
      await expect
        .poll(() => page.locator('.filter-bar .shown').innerText())
        .toBe(`${incident.flows.length} of ${incident.flows.length}`)
      await shot(page, 'garbled-file')
      expect(errors).toEqual([])
    })

    it('shows each file’s progress while it is read, and Cancel stops the analysis', async () => {
      const big = join(tmp, 'syn-flood.pcap')
      writeSynFlood(big, 1_500_000)
      const { page, errors } = await openPage(browser, await start([big]))
      const bar = page.locator('.progress-list progress')
      await bar.waitFor()
      expect(await page.locator('.progress-list li').innerText()).toContain('syn-flood.pcap')
      await expect.poll(async () => Number(await bar.getAttribute('value'))).toBeGreaterThan(0)
      await shot(page, 'loading')
      await page.getByRole('button', { name: 'Cancel' }).click()
      await expect.poll(() => page.locator('header .error').innerText()).toBe('analysis cancelled')
      expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0)
      expect(errors).toEqual([])
    })
  }
)
