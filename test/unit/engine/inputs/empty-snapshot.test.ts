/**
 * An empty file has no content to tell its kind by. `iptables-save` and `nft list ruleset` with
 * no rules loaded print nothing, so an empty file named as one of those snapshots is an empty
 * ruleset (the host filters nothing); any other empty file is only reported.
 */
import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { memorySource } from '../../../support/sources'

describe('an empty snapshot', () => {
  it('named as a ruleset is an empty ruleset of that firewall; otherwise only a warning', async () => {
    const empty = new Uint8Array(0)
    const inc = await analyse(
      ['iptables-save.txt', 'ip6tables.rules', 'nft-ruleset.txt', 'notes.txt'].map((name) =>
        memorySource(`router/${name}`, empty, { host: 'router' })
      )
    )
    expect(inc.inputs.map((i) => [i.path, i.kind, i.format, i.warnings])).toEqual([
      [
        'router/iptables-save.txt',
        'ruleset',
        'iptables-save',
        ['router/iptables-save.txt: empty: no iptables rules were loaded']
      ],
      [
        'router/ip6tables.rules',
        'ruleset',
        'iptables-save',
        ['router/ip6tables.rules: empty: no ip6tables rules were loaded']
      ],
      [
        'router/nft-ruleset.txt',
        'ruleset',
        'nft',
        ['router/nft-ruleset.txt: empty: no nftables rules were loaded']
      ],
      ['router/notes.txt', 'unknown', 'text', ['router/notes.txt: empty file, nothing to read']]
    ])
  })
})
