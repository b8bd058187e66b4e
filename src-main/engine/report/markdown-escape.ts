/** Returns text that GitHub Markdown shows as written, also inside a table cell. */
export function mdText(text: string): string {
  return text
    .replace(/[\\`*_[\]|#~]/g, (c) => '\\' + c)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r?\n/g, '<br>')
}

/** Returns a code span holding text exactly, also inside a table cell (pipes escaped). */
export function mdCode(text: string, inTable = true): string {
  const flat = text.replace(/\r?\n/g, ' ')
  const ticks = '`'.repeat(longestRun(flat, '`') + 1)
  const pad = flat.startsWith('`') || flat.endsWith('`') || flat.startsWith(' ') ? ' ' : ''
  const body = inTable ? flat.replace(/\|/g, '\\|') : flat
  return `${ticks}${pad}${body}${pad}${ticks}`
}

/** Returns a fenced code block holding text exactly, its fence longer than any backtick run inside. */
export function mdFence(text: string, lang = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1))
  return `${fence}${lang}\n${text.replace(/\n$/, '')}\n${fence}`
}

function longestRun(text: string, ch: string): number {
  let best = 0
  let run = 0
  for (const c of text) {
    run = c === ch ? run + 1 : 0
    if (run > best) best = run
  }
  return best
}
