/**
 * NFQUEUE and nft `queue`: the packet goes to the program reading the queue, whose verdict it
 * gets; with no program there the kernel drops it, or with bypass accepts it (the kernel lab's
 * nfqueue test checks those fates on a real router). The walk ends there, takes that fate, and
 * says it is uncertain; the compiled decision agrees.
 */
import { describe, expect, it } from 'vitest'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { walkAndDecide } from './walk-and-decide'

const IPT = [
  '*filter',
  ':FORWARD DROP [0:0]',
  '-A FORWARD -p tcp -m tcp --dport 8080 -j NFQUEUE --queue-num 3',
  '-A FORWARD -p tcp -m tcp --dport 8081 -j NFQUEUE --queue-balance 4:5 --queue-bypass',
  '-A FORWARD -p tcp -m tcp --dport 8081 -j DROP',
  'COMMIT',
  ''
].join('\n')

const NFT = [
  'table inet ips {',
  '\tchain forward {',
  '\t\ttype filter hook forward priority 0; policy drop;',
  '\t\ttcp dport 8080 queue num 3',
  '\t\ttcp dport 8081 queue flags bypass to 4',
  '\t\ttcp dport 8082 queue num 5 bypass',
  '\t\ttcp dport 8081 drop',
  '\t}',
  '}',
  ''
].join('\n')

const walk = (rs: ReturnType<typeof readNft>, port: number) =>
  walkAndDecide(rs, `tcp 10.0.0.1:40000 > 10.0.0.2:${port} S`, { path: 'forward' })

describe('queue to userspace', () => {
  it('reads NFQUEUE and nft queue with their queue numbers and bypass', () => {
    const ipt = readIptablesSave('q.v4', IPT).tables[0].chains[0].rules.map((r) => r.action)
    expect(ipt.slice(0, 2)).toMatchObject([
      { kind: 'queue', num: '3', bypass: false },
      { kind: 'queue', num: '4:5', bypass: true }
    ])
    const nft = readNft('q.nft', NFT).tables[0].chains[0].rules.map((r) => r.action)
    expect(nft.slice(0, 3)).toMatchObject([
      { kind: 'queue', num: '3', bypass: false },
      { kind: 'queue', num: '4', bypass: true },
      { kind: 'queue', num: '5', bypass: true }
    ])
  })

  it('ends the walk with the kernel’s fate when no program reads the queue, uncertain', () => {
    for (const rs of [readIptablesSave('q.v4', IPT), readNft('q.nft', NFT)]) {
      const queued = walk(rs, 8080)
      expect([queued.verdict, queued.uncertain]).toEqual(['drop', true])
      expect(queued.uncertainWhy[0]).toMatch(
        /queue 3 .*when no program reads the queue the kernel drops it/
      )
      // Bypassed, the packet leaves the chain accepted: the DROP after it is never reached.
      const bypassed = walk(rs, 8081)
      expect([bypassed.verdict, bypassed.uncertain]).toEqual(['accept', true])
      expect(bypassed.trace.some((t) => t.matched && t.action === 'drop')).toBe(false)
    }
  })
})
