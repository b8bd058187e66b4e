/**
 * Returns what makes a text not well-formed XML (empty when it is): tags that
 * do not nest, unquoted or repeated attributes, bad entity references, a raw
 * `<` or `&`, control characters, more than one root. Enough to check our SVG
 * without a DOM.
 */
export function xmlProblems(text: string): string[] {
  const problems: string[] = []
  const stack: string[] = []
  let roots = 0
  let i = 0
  // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.exec(text)
  if (control) problems.push(`control character at ${control.index}`)
  while (i < text.length) {
    const lt = text.indexOf('<', i)
    const chunk = text.slice(i, lt < 0 ? text.length : lt)
    checkText(chunk, i, problems)
    if (chunk.trim() !== '' && stack.length === 0) problems.push(`text outside the root at ${i}`)
    if (lt < 0) break
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt)
      if (end < 0) return [...problems, `unclosed comment at ${lt}`]
      i = end + 3
      continue
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt)
      if (end < 0) return [...problems, `unclosed declaration at ${lt}`]
      i = end + 2
      continue
    }
    const close = /^<\/([A-Za-z_][-\w:.]*)\s*>/.exec(text.slice(lt))
    if (close) {
      const open = stack.pop()
      if (open !== close[1]) problems.push(`</${close[1]}> at ${lt} closes <${open ?? ''}>`)
      i = lt + close[0].length
      continue
    }
    const tag =
      /^<([A-Za-z_][-\w:.]*)((?:\s+[A-Za-z_][-\w:.]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
        text.slice(lt)
      )
    if (!tag) {
      problems.push(`bad tag at ${lt}: ${text.slice(lt, lt + 40)}`)
      i = lt + 1
      continue
    }
    const names = [...tag[2].matchAll(/([A-Za-z_][-\w:.]*)\s*=\s*("[^"]*"|'[^']*')/g)]
    const seen = new Set<string>()
    for (const [, name, value] of names) {
      if (seen.has(name)) problems.push(`attribute ${name} twice at ${lt}`)
      seen.add(name)
      checkText(value.slice(1, -1), lt, problems)
    }
    if (stack.length === 0) roots++
    if (tag[3] !== '/') stack.push(tag[1])
    i = lt + tag[0].length
  }
  if (stack.length > 0) problems.push(`unclosed <${stack.join('> <')}>`)
  if (roots !== 1) problems.push(`${roots} root elements`)
  return problems
}

function checkText(text: string, at: number, problems: string[]): void {
  for (const m of text.matchAll(/&([^;\s]{0,12});?/g)) {
    if (!/^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/.test(m[0]))
      problems.push(`bad reference ${m[0]} near ${at + (m.index ?? 0)}`)
  }
}
