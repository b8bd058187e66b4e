import type { Incident } from '@shared/incident'

/** Returns, for one snapshot, the lines findings rest on: line → ids of the findings that name it. */
export function markedLines(incident: Incident, path: string): Map<number, string[]> {
  const out = new Map<number, string[]>()
  const same = (file: string | undefined): boolean =>
    file !== undefined && (file === path || path.endsWith('/' + file) || path.endsWith('\\' + file))
  const add = (line: number | undefined, id: string): void => {
    if (line === undefined) return
    const ids = out.get(line) ?? []
    if (!ids.includes(id)) out.set(line, [...ids, id])
  }
  for (const f of incident.findings) {
    if (same(f.cause.file)) add(f.cause.line, f.id)
    for (const e of f.evidence) {
      if (e.kind === 'counter' && same(e.file)) add(e.line, f.id)
      if (e.kind === 'simulation' && same(e.file)) {
        const decided = [...e.trace]
          .reverse()
          .find((s) => s.line !== undefined && (s.kind === 'policy' || s.matched))
        add(decided?.line, f.id)
      }
    }
  }
  return out
}

/** Returns a rule line's packet and byte counters as the snapshot writes them, if it has them. */
export function counterOf(line: string): { packets: number; bytes: number } | undefined {
  // iptables-save -c: "[packets:bytes] -A CHAIN ..." or a chain line ":INPUT DROP [packets:bytes]".
  const ipt = /^\[(\d+):(\d+)\]|^:\S+\s+\S+\s+\[(\d+):(\d+)\]/.exec(line)
  if (ipt) return { packets: Number(ipt[1] ?? ipt[3]), bytes: Number(ipt[2] ?? ipt[4]) }
  const nft = /\bcounter packets (\d+) bytes (\d+)/.exec(line)
  if (nft) return { packets: Number(nft[1]), bytes: Number(nft[2]) }
  return undefined
}
