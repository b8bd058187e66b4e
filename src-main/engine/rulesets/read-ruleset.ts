import { detectTextKind } from '../inputs/detect-kind'
import type { Ruleset } from './model'
import { readIptablesSave } from './read-iptables-save'
import { readNft } from './read-nft'
import { readNftJson } from './read-nft-json'

/** Returns the model of a ruleset snapshot, its format detected by content; or why it cannot be read. */
export function readRuleset(source: string, text: string): Ruleset | string {
  const detected = detectTextKind(text)
  if (detected.format === 'iptables-save') return readIptablesSave(source, text)
  if (detected.format === 'nft') return readNft(source, text)
  if (detected.format === 'nft-json') return readNftJson(source, text)
  if (detected.kind === 'ruleset')
    return `${source}: ${detected.format} rulesets are recognised but not read yet`
  return `${source}: not a ruleset Verdict reads (iptables-save, ip6tables-save or nft list ruleset output)`
}
