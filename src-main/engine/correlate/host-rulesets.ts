/**
 * One model per kernel table. A host's snapshots often show the same tables more than once: on a
 * modern system `iptables-save` and `nft list ruleset` both list the tables iptables-nft made
 * (`table ip filter` with chains INPUT, FORWARD ...), and `nft -j list ruleset` lists every table
 * again. Walked twice, one table would decide a packet twice; read from the form that models it
 * least (nft's `xt` expressions for iptables matches, JSON without line numbers), its rules
 * would be uncertain. Each table is kept from one snapshot: iptables-save for iptables' own
 * tables, nft text over nft JSON, and what is left out is said on the input.
 */
import type { InputInfo } from '../../shared/incident'
import type { Ruleset, Table } from '../rulesets/model'
import type { EvidenceSet, FromFile } from './evidence'

/** iptables' built-in chain names: a table holding one of them is iptables-nft's. */
const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'])

/** Keeps each of a host's tables in one snapshot only, noting on the inputs what was left out. */
export function oneModelPerTable(ev: EvidenceSet, inputs: InputInfo[]): void {
  const formats = new Map(inputs.map((i) => [i.path, i.format]))
  for (const h of ev.hosts.values()) {
    if (h.rulesets.length < 2) continue
    const rank = (r: FromFile<Ruleset>): number =>
      r.value.system !== 'nftables' ? 0 : formats.get(r.file) === 'nft-json' ? 2 : 1
    /** Each table the snapshots read so far hold: where, and what kind of snapshot. */
    const held = new Map<string, { file: string; rank: number; legacy: boolean }>()
    const kept = new Map<FromFile<Ruleset>, FromFile<Ruleset> | undefined>()
    // iptables-save first, then nft text, then nft JSON: each keeps only the tables no kind
    // before it holds.
    for (const r of [...h.rulesets].sort((x, y) => rank(x) - rank(y))) {
      const mine = rank(r)
      const dropped: string[] = []
      const tables = r.value.tables.filter((t) => {
        const other = held.get(`${t.family} ${t.name}`)
        if (!other || other.rank === mine || !sameTable(t, other)) return true
        dropped.push(`${t.family} ${t.name} (walked from ${other.file})`)
        return false
      })
      for (const t of tables)
        if (!held.has(`${t.family} ${t.name}`))
          held.set(`${t.family} ${t.name}`, {
            file: r.file,
            rank: mine,
            legacy: r.value.variant === 'legacy'
          })
      if (dropped.length === 0) {
        kept.set(r, r)
        continue
      }
      inputs
        .find((i) => i.path === r.file)
        ?.warnings.push(
          `${dropped.length === 1 ? 'table' : 'tables'} ${dropped.join(', ')}: the same kernel ${dropped.length === 1 ? 'table' : 'tables'} as another snapshot of this host shows, walked once`
        )
      kept.set(r, tables.length === 0 ? undefined : { ...r, value: { ...r.value, tables } })
    }
    h.rulesets = h.rulesets
      .map((r) => kept.get(r))
      .filter((r): r is FromFile<Ruleset> => r !== undefined)
  }
}

/**
 * Whether a table of a later snapshot is the one an earlier snapshot of another kind holds: from
 * an nft listing, any table of the same family and name; from iptables-save (unless the legacy
 * variant, whose tables are not nft's), a table holding iptables' chains.
 */
function sameTable(t: Table, held: { rank: number; legacy: boolean }): boolean {
  if (held.rank > 0) return true
  if (held.legacy) return false
  return t.chains.length === 0 || t.chains.some((c) => BUILTIN_CHAINS.has(c.name))
}
