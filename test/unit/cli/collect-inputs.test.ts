import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { collectInputs } from '../../../src-main/cli/collect-inputs'

const root = mkdtempSync(join(tmpdir(), 'verdict-inputs-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** An incident folder as evidence is often gathered: links to big captures kept elsewhere. */
function incident(): string {
  const store = join(root, 'store')
  mkdirSync(join(store, 'etc-firewalld'), { recursive: true })
  writeFileSync(join(store, 'big.pcap'), 'capture')
  writeFileSync(join(store, 'etc-firewalld', 'firewalld.conf'), 'DefaultZone=public\n')
  const inc = join(root, 'incident')
  mkdirSync(join(inc, 'server'), { recursive: true })
  mkdirSync(join(inc, 'client'), { recursive: true })
  symlinkSync(join(store, 'big.pcap'), join(inc, 'server', 'eth0.pcap'))
  symlinkSync(join(store, 'etc-firewalld'), join(inc, 'server', 'firewalld'))
  writeFileSync(join(inc, 'client', 'kern.log'), 'log')
  symlinkSync(join(store, 'gone.pcap'), join(inc, 'client', 'lost.pcap'))
  // A link back up the tree must not be followed for ever.
  symlinkSync(inc, join(inc, 'client', 'loop'))
  symlinkSync(join(store, 'big.pcap'), join(inc, 'shared.pcap'))
  return inc
}

describe('collecting an incident folder', () => {
  it('follows links to files and folders, each folder once, and names a broken link', () => {
    const inc = incident()
    const { files, bad } = collectInputs([inc])
    expect(files.map((f) => [relative(inc, f.path), f.host])).toEqual([
      ['client/kern.log', 'client'],
      ['server/eth0.pcap', 'server'],
      ['server/firewalld/firewalld.conf', 'server'],
      ['shared.pcap', undefined]
    ])
    expect(files.find((f) => f.path.endsWith('eth0.pcap'))?.size).toBe('capture'.length)
    expect(bad).toHaveLength(1)
    expect(bad[0].path).toBe(join(inc, 'client', 'lost.pcap'))
    expect(bad[0].message).toMatch(/lost\.pcap: a link to nothing/)
  })

  it('says so when a folder holds no file at all', () => {
    const empty = join(root, 'empty')
    mkdirSync(join(empty, 'host'), { recursive: true })
    const { files, bad } = collectInputs([empty])
    expect(files).toEqual([])
    expect(bad.map((b) => b.message)).toEqual([`${empty}: no files in this folder`])
  })
})
