import { problem, type Problem } from '../../shared/problem'
import type { Cidr, IpSet, IpSetMember } from './model'
import { parseCidr } from './parse-address'
import { protocolNumber } from './protocols'

/** Returns the sets of an `ipset save` snapshot; lines it cannot read become problems, the rest is kept. */
export function readIpsetSave(
  source: string,
  text: string
): { sets: Map<string, IpSet>; problems: Problem[] } {
  const sets = new Map<string, IpSet>()
  const problems: Problem[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    const at = `line ${i + 1}`
    if (line === '' || line.startsWith('#')) return
    const words = line.split(/\s+/)
    if (words[0] === 'create' && words.length >= 3) {
      const [method, dimText] = words[2].split(':')
      if ((method !== 'hash' && method !== 'bitmap' && method !== 'list') || !dimText) {
        problems.push(problem(source, at, `set type '${words[2]}' not understood`, raw))
        return
      }
      const familyAt = words.indexOf('family')
      const family = familyAt > 0 && words[familyAt + 1] === 'inet6' ? 6 : 4
      sets.set(words[1], {
        name: words[1],
        method,
        dims: dimText.split(','),
        family,
        members: [],
        source: { line: i + 1, text: raw }
      })
      return
    }
    if (words[0] === 'add' && words.length >= 3) {
      const set = sets.get(words[1])
      if (!set) {
        problems.push(
          problem(source, at, `member added to set ${words[1]}, which was not created`, raw)
        )
        return
      }
      const members = parseMember(words[2], set, i + 1)
      if (typeof members === 'string') problems.push(problem(source, at, members, raw))
      else {
        if (words.includes('nomatch')) for (const m of members) m.nomatch = true
        set.members.push(...members)
      }
      return
    }
    problems.push(problem(source, at, 'expected create or add', raw))
  })
  return { sets, problems }
}

/** Returns the members an `add` line makes: an address range becomes one member per prefix. */
function parseMember(text: string, set: IpSet, line: number): IpSetMember[] | string {
  const parts = text.split(',')
  if (parts.length !== set.dims.length)
    return `member '${text}' has ${parts.length} part(s); ${set.method}:${set.dims.join(',')} needs ${set.dims.length}`
  let members: IpSetMember[] = [{ cidrs: [], ports: [], sets: [], line }]
  for (let d = 0; d < parts.length; d++) {
    const dim = set.dims[d]
    const value = parts[d]
    if (dim === 'ip' || dim === 'net') {
      const range = value.split('-')
      const cidr = parseCidr(range[0])
      if (!cidr) return `address '${value}' not understood`
      let cidrs = [cidr]
      if (range.length === 2) {
        const to = parseCidr(range[1])
        if (!to) return `address range '${value}' not understood`
        cidrs = rangeToCidrs(cidr, to)
      }
      members = members.flatMap((m) => cidrs.map((c) => ({ ...m, cidrs: [...m.cidrs, c] })))
    } else if (dim === 'port') {
      const m = /^(?:(\w+):)?(\d+)(?:-(\d+))?$/.exec(value)
      if (!m) return `port '${value}' not understood`
      const proto = m[1] === undefined ? undefined : protocolNumber(m[1])
      const port = { proto, port: [Number(m[2]), Number(m[3] ?? m[2])] as [number, number] }
      members = members.map((x) => ({ ...x, ports: [...x.ports, port] }))
    } else if (dim === 'set') {
      members = members.map((x) => ({ ...x, sets: [...x.sets, value] }))
    } else {
      return `set dimension '${dim}' is not modelled`
    }
  }
  return members
}

/** Covers an IPv4 range with prefixes (ranges in ipsets are IPv4 only). */
function rangeToCidrs(from: Cidr, to: Cidr): Cidr[] {
  if (from.version !== 4 || to.version !== 4) return [from]
  const out: Cidr[] = []
  let lo = from.words[0]
  const hi = to.words[0]
  while (lo <= hi) {
    let bits = 32
    while (bits > 0) {
      const size = 2 ** (32 - bits + 1)
      if (lo % size !== 0 || lo + size - 1 > hi) break
      bits--
    }
    out.push({ version: 4, words: [lo], bits })
    lo += 2 ** (32 - bits)
  }
  return out
}
