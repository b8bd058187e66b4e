import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PacketDetail } from '../../../src-main/shared/api'
import type { Result } from '../../../src-main/shared/result'
import { CLI, CORPUS } from '../../support/run'

const SMTP = resolve(CORPUS, 'pcaps/zeek_smtp.pcap')
const RULES = resolve(CORPUS, 'iptables/iptables_policy-drop.txt')

describe.skipIf(!existsSync(CLI))('verdict serve: the Api over HTTP', () => {
  let server: ChildProcess
  let url = ''
  beforeAll(async () => {
    server = spawn(process.execPath, [CLI, 'serve', SMTP, RULES])
    url = await new Promise<string>((done, fail) => {
      server.stdout!.on('data', (d: Buffer) => {
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(d.toString())
        if (m) done(m[0])
      })
      server.on('exit', (code) => fail(new Error(`verdict serve exited with ${code}`)))
    })
  })
  afterAll(() => {
    server?.kill()
  })
  const call = (name: string, args: unknown[] = []) =>
    fetch(`${url}api/${name}`, { method: 'POST', body: JSON.stringify(args) })

  it('listens on loopback only and serves the page under a strict CSP', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const res = await fetch(url)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect((await fetch(`${url}api/startup`)).status).toBe(405)
    expect((await fetch(`${url}../../etc/passwd`)).status).not.toBe(200)
  })

  it('answers analyse with JSON lines: progress per file, then the incident', async () => {
    const startup = await (await call('startup')).json()
    expect(startup).toEqual({ paths: [SMTP, RULES], sample: false, canPick: false })
    const text = await (await call('analyse', [[SMTP, RULES]])).text()
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const progress = lines.filter((l) => l.progress).map((l) => l.progress)
    expect(progress.some((p) => p.path === SMTP && p.bytesRead === p.totalBytes)).toBe(true)
    const last = lines.at(-1)
    expect(last.result.ok).toBe(true)
    expect(last.result.value.inputs.map((i: { path: string }) => i.path)).toEqual([SMTP, RULES])
  })

  it('refuses paths it was not started with, and texts that are not inputs', async () => {
    const text = await (await call('analyse', [['/etc']])).text()
    expect(JSON.parse(text.trim()).result.ok).toBe(false)
    expect(await (await call('readText', ['/etc/passwd'])).json()).toMatchObject({ ok: false })
    const rules = (await (await call('readText', [RULES])).json()) as Result<string>
    expect(rules.ok && rules.value).toContain(':INPUT DROP [0:0]')
    const packet = (await (await call('packet', [SMTP, 1])).json()) as Result<PacketDetail>
    expect(packet.ok && packet.value.frame).toBe(1)
    expect((await call('nonesuch')).status).toBe(404)
    expect((await fetch(`${url}api/startup`, { method: 'POST', body: '{' })).status).toBe(400)
  })
})
