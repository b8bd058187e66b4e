/**
 * The netfilter log's words, as the kernel writes them (net/netfilter/nf_log_syslog.c):
 * `KEY=VALUE`, bare words (`DF`, `SYN`), `FRAG:N` / `ID:HEX` (IPv6 fragment headers),
 * `OPT (HEX)`, `INCOMPLETE [N bytes]` and the bracketed packet an ICMP error quotes.
 */

/** One word of a netfilter log line. */
export type NetfilterToken =
  | { kind: 'field'; key: string; value: string }
  | { kind: 'word'; word: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'option'; text: string }

/** Returns the words of `text`, or what stopped the split (an unclosed bracket or parenthesis). */
export function splitNetfilterTokens(
  text: string
): { tokens: NetfilterToken[] } | { error: string } {
  const tokens: NetfilterToken[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c === ' ' || c === '\t') {
      i++
      continue
    }
    if (c === '[') {
      const end = closingBracket(text, i)
      if (end < 0) return { error: `unclosed [ at column ${i + 1}` }
      const inner = text.slice(i + 1, end)
      const last = tokens[tokens.length - 1]
      // INCOMPLETE [N bytes] says how much of a header was there; it is not a quoted packet.
      if (last?.kind === 'word' && last.word === 'INCOMPLETE') last.word = `INCOMPLETE [${inner}]`
      else tokens.push({ kind: 'quoted', text: inner })
      i = end + 1
      continue
    }
    if (c === ']') return { error: `unmatched ] at column ${i + 1}` }
    let j = i
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t' && text[j] !== '[') j++
    const word = text.slice(i, j)
    if (word === 'OPT' && /^\s*\(/.test(text.slice(j))) {
      const open = text.indexOf('(', j)
      const close = text.indexOf(')', open)
      if (close < 0) return { error: `unclosed ( at column ${open + 1}` }
      tokens.push({ kind: 'option', text: text.slice(open + 1, close).trim() })
      i = close + 1
      continue
    }
    tokens.push(toToken(word))
    i = j
  }
  return { tokens }
}

function toToken(word: string): NetfilterToken {
  const eq = word.indexOf('=')
  if (eq > 0) return { kind: 'field', key: word.slice(0, eq), value: word.slice(eq + 1) }
  // The kernel writes fragment offsets and IPv6 fragment ids with a colon: FRAG:1480, ID:0000abcd.
  if (word.startsWith('FRAG:')) return { kind: 'field', key: 'FRAG:', value: word.slice(5) }
  if (word.startsWith('ID:')) return { kind: 'field', key: 'ID:', value: word.slice(3) }
  return { kind: 'word', word }
}

function closingBracket(text: string, open: number): number {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '[') depth++
    else if (text[i] === ']' && --depth === 0) return i
  }
  return -1
}
