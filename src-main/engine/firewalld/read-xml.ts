import { problem, type Problem } from '../../shared/problem'

/** One XML element with its attributes, children, text and the line its start tag is on. */
export interface XmlElement {
  name: string
  attrs: Record<string, string>
  children: XmlElement[]
  text: string
  line: number
}

/** The document's root element (when one was read) and what could not be read. */
export interface XmlDocument {
  root?: XmlElement
  problems: Problem[]
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }
const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y

/**
 * Returns the element tree of a small XML document (elements, attributes, text,
 * comments, CDATA, character and the five predefined entities). Never throws:
 * what is wrong becomes a problem naming the line, and everything read before
 * it (and every element closed after recovery) is kept.
 */
export function readXml(text: string, source: string): XmlDocument {
  const r = new XmlCursor(text, source)
  r.document()
  return { root: r.root, problems: r.problems }
}

class XmlCursor {
  pos = 0
  root?: XmlElement
  problems: Problem[] = []
  private stack: XmlElement[] = []
  private readonly lineStarts: number[] = [0]

  constructor(
    private readonly text: string,
    private readonly source: string
  ) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1)
  }

  document(): void {
    const t = this.text
    while (this.pos < t.length) {
      const lt = t.indexOf('<', this.pos)
      const chunk = t.slice(this.pos, lt < 0 ? t.length : lt)
      this.addText(chunk, this.pos)
      if (lt < 0) break
      this.pos = lt
      if (t.startsWith('<!--', lt)) this.skipTo('-->', 'comment')
      else if (t.startsWith('<![CDATA[', lt)) this.cdata()
      else if (t.startsWith('<?', lt)) this.skipTo('?>', 'processing instruction')
      else if (t.startsWith('<!', lt)) this.skipTo('>', 'declaration')
      else if (t.startsWith('</', lt)) this.endTag()
      else this.startTag()
    }
    for (const open of this.stack.reverse())
      this.report(open.line, `<${open.name}> is never closed`)
    if (!this.root) this.report(this.lineAt(this.pos), 'no root element')
  }

  private lineAt(offset: number): number {
    let lo = 0
    let hi = this.lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.lineStarts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }

  private report(line: number, message: string): void {
    const raw = this.text.split('\n')[line - 1]
    this.problems.push(problem(this.source, `line ${line}`, message, raw?.trim()))
  }

  private skipTo(end: string, what: string): void {
    const at = this.text.indexOf(end, this.pos + 2)
    if (at < 0) {
      this.report(this.lineAt(this.pos), `${what} is never closed`)
      this.pos = this.text.length
    } else this.pos = at + end.length
  }

  private cdata(): void {
    const start = this.pos + 9
    const end = this.text.indexOf(']]>', start)
    if (end < 0) {
      this.report(this.lineAt(this.pos), 'CDATA section is never closed')
      this.pos = this.text.length
      return
    }
    const top = this.stack[this.stack.length - 1]
    if (top) top.text += this.text.slice(start, end)
    else this.report(this.lineAt(this.pos), 'CDATA outside the root element')
    this.pos = end + 3
  }

  private addText(raw: string, at: number): void {
    if (raw === '') return
    const top = this.stack[this.stack.length - 1]
    if (!top) {
      const lead = raw.search(/\S/)
      if (lead >= 0) this.report(this.lineAt(at + lead), 'text outside the root element')
      return
    }
    top.text += this.decode(raw, at)
  }

  private decode(raw: string, at: number): string {
    return raw.replace(/&([^;&\s<]*);?/g, (whole, name: string, offset: number) => {
      if (!whole.endsWith(';')) {
        this.report(this.lineAt(at + offset), `'&' not followed by an entity reference`)
        return whole
      }
      const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(name)
      if (num) {
        const code = num[1].startsWith('x') ? parseInt(num[1].slice(1), 16) : Number(num[1])
        if (code > 0 && code <= 0x10ffff) return String.fromCodePoint(code)
      } else if (ENTITIES[name] !== undefined) return ENTITIES[name]
      this.report(this.lineAt(at + offset), `unknown entity '&${name};'`)
      return whole
    })
  }

  private name(): string | undefined {
    NAME.lastIndex = this.pos
    const m = NAME.exec(this.text)
    if (!m) return undefined
    this.pos += m[0].length
    return m[0]
  }

  private spaces(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++
  }

  private startTag(): void {
    const line = this.lineAt(this.pos)
    this.pos++
    const name = this.name()
    if (!name) {
      this.report(line, `'<' not followed by an element name`)
      this.addText('<', this.pos - 1)
      return
    }
    const el: XmlElement = { name, attrs: {}, children: [], text: '', line }
    for (;;) {
      this.spaces()
      const c = this.text[this.pos]
      if (c === undefined) {
        this.report(line, `<${name}> start tag is never finished`)
        return
      }
      if (c === '>' || this.text.startsWith('/>', this.pos)) {
        const empty = c === '/'
        this.pos += empty ? 2 : 1
        this.open(el, empty)
        return
      }
      if (!this.attribute(el)) return
    }
  }

  private attribute(el: XmlElement): boolean {
    const at = this.pos
    const key = this.name()
    this.spaces()
    const eq = this.text[this.pos] === '='
    if (eq) this.pos++
    this.spaces()
    const quote = this.text[this.pos]
    if (!key || !eq || (quote !== '"' && quote !== "'")) {
      this.report(this.lineAt(at), `<${el.name}>: malformed attribute`)
      const close = this.text.indexOf('>', at)
      this.pos = close < 0 ? this.text.length : close + 1
      return false
    }
    const end = this.text.indexOf(quote, this.pos + 1)
    if (end < 0) {
      this.report(this.lineAt(at), `<${el.name}>: attribute ${key} is never closed`)
      this.pos = this.text.length
      return false
    }
    const value = this.text.slice(this.pos + 1, end)
    if (value.includes('<'))
      this.report(this.lineAt(at), `<${el.name}>: '<' inside attribute ${key}`)
    if (key in el.attrs) this.report(this.lineAt(at), `<${el.name}>: attribute ${key} given twice`)
    el.attrs[key] = this.decode(value, this.pos + 1)
    this.pos = end + 1
    return true
  }

  private open(el: XmlElement, empty: boolean): void {
    const top = this.stack[this.stack.length - 1]
    if (top) top.children.push(el)
    else if (this.root) {
      this.report(el.line, `second root element <${el.name}> ignored`)
      return
    } else this.root = el
    if (!empty) this.stack.push(el)
  }

  private endTag(): void {
    const line = this.lineAt(this.pos)
    this.pos += 2
    const name = this.name() ?? ''
    this.spaces()
    if (this.text[this.pos] !== '>') this.report(line, `</${name}> end tag is malformed`)
    const close = this.text.indexOf('>', this.pos)
    this.pos = close < 0 ? this.text.length : close + 1
    const at = this.stack.map((e) => e.name).lastIndexOf(name)
    if (at < 0) {
      this.report(line, `</${name}> closes nothing that is open`)
      return
    }
    for (const unclosed of this.stack.splice(at).slice(1).reverse())
      this.report(
        unclosed.line,
        `<${unclosed.name}> is never closed (closed by </${name}> on line ${line})`
      )
  }
}
