import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectKind } from '../../../../src-main/engine/inputs/detect-kind'
import { CORPUS } from '../../../support/run'

const kindOf = (text: string) => detectKind(new TextEncoder().encode(text))

describe('detecting a file by its content, never its name', () => {
  it('knows captures, rulesets and ipset snapshots', () => {
    expect(detectKind(readFileSync(resolve(CORPUS, 'pcaps/zeek_syn.pcap')))).toEqual({
      kind: 'capture',
      format: 'capture'
    })
    expect(kindOf('*filter\n:INPUT DROP [0:0]\nCOMMIT\n')).toEqual({
      kind: 'ruleset',
      format: 'iptables-save'
    })
    expect(kindOf('table inet filter {\n}\n')).toEqual({ kind: 'ruleset', format: 'nft' })
    expect(kindOf('flush ruleset\ntable t {\n}\n')).toEqual({ kind: 'ruleset', format: 'nft' })
    expect(kindOf('{"nftables": [{"metainfo": {}}]}')).toEqual({
      kind: 'ruleset',
      format: 'nft-json'
    })
    expect(kindOf('create blocked hash:net family inet\nadd blocked 10.0.0.0/8\n')).toEqual({
      kind: 'ruleset',
      format: 'ipset'
    })
  })

  it('calls everything else unknown, text or binary', () => {
    expect(kindOf('what happened at 10:00\n')).toEqual({ kind: 'unknown', format: 'text' })
    expect(detectKind(Uint8Array.from({ length: 200 }, (_, i) => (i * 7) % 31))).toEqual({
      kind: 'unknown',
      format: 'binary'
    })
  })
})
