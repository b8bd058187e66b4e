/**
 * The nft reader's lexer: words, quoted strings, the punctuation that shapes
 * blocks and lists, and newlines (which end statements), each with its line
 * and offsets so a rule's text can be cut from the file exactly as written.
 */

export interface Token {
  kind: 'word' | 'string' | 'punct' | 'nl'
  /** The word, the punctuation, or a string's content without its quotes. */
  text: string
  line: number
  /** Offsets of the token as written (for a variable's value: of the `$name` it replaced). */
  start: number
  end: number
  /** For the stand-in of an anonymous chain (`jump { ... }`): the line of its closing brace. */
  endLine?: number
  /** For the stand-in of an anonymous chain: the model chain it was read into. */
  anonymous?: boolean
}

export interface Lexed {
  tokens: Token[]
  /** The comment written at the end of each line (`# handle 12` from `nft -a`), by line number. */
  comments: Map<number, string>
}

const PUNCT = new Set(['{', '}', '(', ')', ',', ';'])
const BREAK = new Set([' ', '\t', '\r', '\n', '"', '#', ...PUNCT])

/** Splits nft text into tokens; a comment runs from `#` to the end of its line. */
export function lexNft(text: string): Lexed {
  const tokens: Token[] = []
  const comments = new Map<number, string>()
  let line = 1
  let i = 0
  while (i < text.length) {
    const c = text[i]
    if (c === '\n') {
      tokens.push({ kind: 'nl', text: '\n', line, start: i, end: i + 1 })
      line++
      i++
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++
    } else if (c === '\\' && (text[i + 1] === '\n' || text.startsWith('\r\n', i + 1))) {
      // A line continuation: the statement goes on on the next line.
      i += text[i + 1] === '\n' ? 2 : 3
      line++
    } else if (c === '#') {
      let j = text.indexOf('\n', i)
      if (j < 0) j = text.length
      comments.set(line, text.slice(i, j).trim())
      i = j
    } else if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j++
      tokens.push({ kind: 'string', text: text.slice(i + 1, j), line, start: i, end: j + 1 })
      i = text[j] === '"' ? j + 1 : j
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: 'punct', text: c, line, start: i, end: i + 1 })
      i++
    } else {
      let j = i
      while (j < text.length && !BREAK.has(text[j])) j++
      pushWord(tokens, text.slice(i, j), line, i)
      i = j
    }
  }
  return { tokens, comments }
}

/** Pushes a word, split around a lone `=` (`elements={` → `elements`, `=`), never `==` `!=` `<=` `>=`. */
function pushWord(tokens: Token[], word: string, line: number, start: number): void {
  const parts = word.split(/(?<![=!<>])(=)(?!=)/).filter((p) => p !== '')
  let at = start
  for (const p of parts) {
    tokens.push({ kind: 'word', text: p, line, start: at, end: at + p.length })
    at += p.length
  }
}

/** True when the token is the given punctuation. */
export function isPunct(t: Token | undefined, p: string): boolean {
  return t !== undefined && t.kind === 'punct' && t.text === p
}

/** True when the token is the given word (or one of them). */
export function isWord(t: Token | undefined, ...words: string[]): boolean {
  return t !== undefined && t.kind === 'word' && words.includes(t.text)
}

/** True when the token ends a statement: a newline or `;`. */
export function endsStatement(t: Token | undefined): boolean {
  return t === undefined || t.kind === 'nl' || isPunct(t, ';')
}

/**
 * Expands `define NAME = VALUE` variables: the definitions are removed from
 * the stream, each `$NAME` is replaced by the value's tokens (placed where
 * `$NAME` is written). Returns the names used but never defined.
 */
export function expandDefines(tokens: Token[]): { tokens: Token[]; undefinedVars: Token[] } {
  const out: Token[] = []
  const vars = new Map<string, Token[]>()
  const undefinedVars: Token[] = []
  const substitute = (t: Token, into: Token[]): void => {
    const value =
      t.kind === 'word' && t.text.startsWith('$') ? vars.get(t.text.slice(1)) : undefined
    if (t.kind === 'word' && t.text.startsWith('$') && !value) undefinedVars.push(t)
    if (!value) into.push(t)
    else for (const v of value) into.push({ ...v, line: t.line, start: t.start, end: t.end })
  }
  let atStart = true
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (atStart && isWord(t, 'define', 'redefine') && tokens[i + 1]?.kind === 'word') {
      const name = tokens[i + 1].text
      let j = i + 2
      if (isWord(tokens[j], '=')) j++
      const value: Token[] = []
      let depth = 0
      for (; j < tokens.length; j++) {
        const v = tokens[j]
        if (depth === 0 && endsStatement(v)) break
        if (isPunct(v, '{')) depth++
        if (isPunct(v, '}')) depth--
        if (v.kind !== 'nl') substitute(v, value)
      }
      vars.set(name, value)
      i = j - 1
      continue
    }
    if (atStart && isWord(t, 'undefine') && tokens[i + 1]?.kind === 'word') {
      vars.delete(tokens[i + 1].text)
      i++
      continue
    }
    atStart = t.kind === 'nl' || isPunct(t, ';') || isPunct(t, '{') || isPunct(t, '}')
    substitute(t, out)
  }
  return { tokens: out, undefinedVars }
}
