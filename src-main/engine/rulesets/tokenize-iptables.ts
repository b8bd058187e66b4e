/** Splits an iptables-save line into arguments, honouring its double quotes and backslash escapes. */
export function tokenizeIptables(line: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < line.length) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++
    if (i >= line.length) break
    let token = ''
    let quoted = false
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const c = line[i]
      if (c === '\\' && i + 1 < line.length) {
        token += line[i + 1]
        i += 2
        continue
      }
      if (c === '"') quoted = !quoted
      else token += c
      i++
    }
    out.push(token)
  }
  return out
}
