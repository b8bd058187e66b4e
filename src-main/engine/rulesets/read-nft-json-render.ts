/**
 * libnftables-json(5) expressions and statements written back in nft's text
 * syntax, as `nft list ruleset` prints them, so that the text reader's rule
 * reading (dependencies, sets, verdict maps, reject defaults) applies as is.
 */

/** A JSON value as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The single key of `{"KEY": value}` and its value, or undefined for any other shape. */
export function only(v: Json | undefined): [string, Json] | undefined {
  if (!isObject(v)) return undefined
  const keys = Object.keys(v)
  return keys.length === 1 ? [keys[0], v[keys[0]]] : undefined
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}

/** A string as an nft quoted string (nft strings hold no quotes or line ends). */
export function quote(s: string): string {
  return `"${s.replace(/["\r\n]/g, ' ')}"`
}

/** A bare value: as is when nft would read it as one word, else quoted. */
function word(s: string): string {
  if (s.startsWith('@')) return s
  const plain = /^[A-Za-z0-9_.:/\-*$]+$/.test(s) && (s === '*' || !s.endsWith('*'))
  return plain ? s : quote(s)
}

const NAMED = /^(meta )?([io]if|[io]br|[io]briport|[io]ifkind)name$|^[io]ifname$/
/** Meta keys nft prints without `meta`. */
const UNQUALIFIED = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup'])
const VERDICTS = new Set(['accept', 'drop', 'continue', 'return'])
const BINOPS = new Set(['&', '|', '^', '<<', '>>'])

/** How the surrounding expression wants a list of flag values written. */
type ListStyle = 'comma' | 'bar'

/**
 * How values are printed, from what they are compared with: interface and
 * object names quoted, marks as 0x%08x, raw payload in hex; per component of
 * a concatenation; `data` for a map's values.
 */
export interface Fmt {
  names?: boolean
  hex?: 0 | 1 | 8
  parts?: Fmt[]
  data?: Fmt
}
const PLAIN: Fmt = {}
/** A map to named objects (`quota name ip saddr map { ... : "q1" }`). */
const OBJECTS: Fmt = { data: { names: true } }
const PREC: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4 }

/** Returns an expression in nft's syntax. `names` quotes plain strings (interface names). */
export function expr(v: Json | undefined, f: Fmt = PLAIN, list: ListStyle = 'comma'): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'boolean') return v ? 'exists' : 'missing'
  if (typeof v === 'number')
    return f.hex === 8
      ? `0x${(v >>> 0).toString(16).padStart(8, '0')}`
      : f.hex === 1
        ? `0x${v.toString(16)}`
        : String(v)
  if (typeof v === 'string') return f.names && !v.startsWith('@') ? quote(v) : word(v)
  if (Array.isArray(v)) {
    const parts = v.map((x) => expr(x, f, list))
    return list === 'bar' ? `(${parts.join('|')})` : parts.join(',')
  }
  const o = only(v)
  if (!o) return JSON.stringify(v)
  const [k, x] = o
  const obj: JsonObject = isObject(x) ? x : {}
  const s = (key: string): string => str(obj[key]) ?? ''
  if (VERDICTS.has(k)) return k
  if (BINOPS.has(k) && Array.isArray(x))
    return x.map((e, n) => paren(e, f, k, n === 0)).join(` ${k} `)
  switch (k) {
    case 'jump':
    case 'goto':
      return `${k} ${s('target')}`
    case 'payload':
      if (obj.base !== undefined) return `@${s('base')},${s('offset')},${s('len')}`
      return `${obj.tunnel === undefined ? '' : `${s('tunnel')} `}${s('protocol')} ${s('field')}`
    case 'exthdr':
      return obj.field === undefined ? `exthdr ${s('name')}` : `${s('name')} ${s('field')}`
    case 'tcp option':
    case 'ip option':
    case 'sctp chunk':
      return obj.field === undefined ? `${k} ${s('name')}` : `${k} ${s('name')} ${s('field')}`
    case 'dccp option':
      return `dccp option ${s('type')}`
    case 'meta':
      return UNQUALIFIED.has(s('key')) ? s('key') : `meta ${s('key')}`
    case 'rt':
      return ['rt', obj.family, s('key')].filter((p) => p !== undefined && p !== '').join(' ')
    case 'ct':
      return ['ct', obj.dir, obj.family, s('key')]
        .filter((p) => typeof p === 'string' && p !== '')
        .join(' ')
    case 'socket':
      return `socket ${s('key')}${obj.level === undefined ? '' : ` level ${s('level')}`}`
    case 'osf':
      return `osf${obj.ttl === undefined ? '' : ` ttl ${s('ttl')}`} ${s('key')}`
    case 'fib': {
      const flags = Array.isArray(obj.flags)
        ? obj.flags
        : obj.flags === undefined
          ? []
          : [obj.flags]
      return `fib ${flags.map((f) => str(f) ?? '').join(' . ')} ${s('result')}`
    }
    case 'numgen':
      return `numgen ${s('mode')} mod ${s('mod')}${obj.offset ? ` offset ${s('offset')}` : ''}`
    case 'jhash':
    case 'symhash': {
      const of = k === 'jhash' ? ` ${expr(obj.expr)}` : ''
      return `${k}${of} mod ${s('mod')}${obj.seed === undefined ? '' : ` seed ${s('seed')}`}${obj.offset ? ` offset ${s('offset')}` : ''}`
    }
    case 'ipsec':
      return `ipsec ${s('dir')}${obj.spnum ? ` spnum ${s('spnum')}` : ''} ${obj.family ?? ''} ${s('key')}`.replace(
        /\s+/g,
        ' '
      )
    case 'concat':
      return Array.isArray(x)
        ? x.map((e, n) => expr(e, f.parts?.[n] ?? (f.parts ? PLAIN : f), list)).join(' . ')
        : ''
    case 'set':
      return `{ ${(Array.isArray(x) ? x : [x]).map((e) => element(e, f)).join(', ')} }`
    case 'map':
      return `${expr(obj.key)} map ${expr(obj.data, { ...fmtOf(obj.key), data: f.data })}`
    case 'prefix':
      return `${expr(obj.addr)}/${s('len')}`
    case 'range':
      return Array.isArray(x) ? `${expr(x[0], f)}-${expr(x[1], f)}` : ''
    case 'elem': {
      const timeout = typeof obj.timeout === 'number' ? ` timeout ${duration(obj.timeout)}` : ''
      return `${expr(obj.val, f, list)}${timeout}`
    }
  }
  return k
}

/** Seconds as nft prints a time: `1m30s`, `2s`, `1d`. */
function duration(seconds: number): string {
  let rest = Math.round(seconds * 1000)
  let out = ''
  for (const [unit, ms] of [
    ['d', 86400000],
    ['h', 3600000],
    ['m', 60000],
    ['s', 1000],
    ['ms', 1]
  ] as const) {
    if (rest >= ms) out += `${Math.floor(rest / ms)}${unit}`
    rest %= ms
  }
  return out || '0s'
}

/** An element of a set (`10.0.0.0/8`) or map (`[key, value]` → `key : value`). */
export function element(e: Json, f: Fmt = PLAIN): string {
  if (Array.isArray(e) && e.length === 2) return `${expr(e[0], f)} : ${expr(e[1], f.data)}`
  return expr(e, f)
}

/** How the values compared with (or looked up by) an expression are printed. */
export function fmtOf(left: Json | undefined): Fmt {
  const o = only(left)
  if (!o) return PLAIN
  const [k, x] = o
  if (k === 'concat' && Array.isArray(x)) return { parts: x.map(fmtOf) }
  if (BINOPS.has(k) && Array.isArray(x)) return fmtOf(x[0])
  if (!isObject(x)) return PLAIN
  const key = str(x.key) ?? ''
  if ((k === 'meta' || k === 'ct') && key === 'mark') return { hex: 8 }
  if (k === 'payload' && x.base !== undefined) return { hex: 1 }
  return {
    names: (k === 'meta' && NAMED.test(key)) || (k === 'ct' && key === 'helper') || k === 'osf'
  }
}

/** An operand of a binary operation, in parentheses when it is another operation. */
function paren(v: Json | undefined, f: Fmt, outer: string, first: boolean): string {
  const o = only(v)
  const p = o && BINOPS.has(o[0]) ? PREC[o[0]] : 9
  const inner = first ? p < PREC[outer] : p <= PREC[outer]
  // A shift's amount is a plain number, whatever is shifted.
  const g = !first && PREC[outer] === 4 ? PLAIN : f
  return inner ? `(${expr(v, g, 'bar')})` : expr(v, g, 'bar')
}

/** True for `tcp flags`, whose `==` (exact) and `in` (any flag) differ. */
function isFlags(left: Json | undefined): boolean {
  const o = only(left)
  if (!o) return false
  if (BINOPS.has(o[0]) && Array.isArray(o[1])) return isFlags(o[1][0])
  return o[0] === 'payload' && isObject(o[1]) && o[1].field === 'flags'
}

/** Returns a statement of a rule's `expr` array in nft's syntax. */
export function statement(v: Json, inSet = false): string {
  const o = only(v)
  if (!o) return 'unknown'
  const [k, x] = o
  const obj: JsonObject = isObject(x) ? x : {}
  const s = (key: string): string => str(obj[key]) ?? ''
  const inv = obj.inv === true ? 'over ' : ''
  switch (k) {
    case 'match': {
      const f = fmtOf(obj.left)
      const op = str(obj.op) ?? '=='
      const left = expr(obj.left, PLAIN, 'bar')
      const right = expr(obj.right, f, isFlags(obj.left) ? 'bar' : 'comma').replace(
        /^\((.*)\)$/,
        '$1'
      )
      const shown =
        op === 'in'
          ? ''
          : op === '=='
            ? isFlags(obj.left) ||
              (only(obj.left)?.[0] !== undefined && BINOPS.has(only(obj.left)![0]))
              ? '== '
              : ''
            : `${op} `
      return `${left} ${shown}${right}`
    }
    case 'counter':
      if (typeof x === 'string') return `counter name ${quote(x)}`
      if (isObject(x) && x.packets === undefined) return `counter name ${expr(x, OBJECTS)}`
      if (inSet) return 'counter'
      return `counter packets ${s('packets') || '0'} bytes ${s('bytes') || '0'}`
    case 'log': {
      const parts = ['log']
      if (obj.prefix !== undefined) parts.push(`prefix ${quote(s('prefix'))}`)
      if (obj.level !== undefined) parts.push(`level ${s('level')}`)
      if (obj.group !== undefined) parts.push(`group ${s('group')}`)
      if (obj.snaplen !== undefined) parts.push(`snaplen ${s('snaplen')}`)
      if (obj['queue-threshold'] !== undefined)
        parts.push(`queue-threshold ${s('queue-threshold')}`)
      return parts.join(' ')
    }
    case 'reject': {
      const type = s('type')
      if (type === 'tcp reset') return 'reject with tcp reset'
      if (!type) return 'reject'
      return `reject with ${type} ${obj.expr === undefined ? 'port-unreachable' : expr(obj.expr)}`
    }
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect':
      return nat(k, obj)
    case 'limit': {
      if (typeof x === 'string') return `limit name ${quote(x)}`
      if (obj.rate === undefined) return `limit name ${expr(x, OBJECTS)}`
      const unit =
        obj.rate_unit !== undefined && s('rate_unit') !== 'packets' ? ` ${s('rate_unit')}` : ''
      const burst =
        // nft prints no burst of 5 packets, its default, except in a set statement.
        obj.burst !== undefined && obj.burst !== 0 && (inSet || unit !== '' || obj.burst !== 5)
          ? ` burst ${s('burst')} ${str(obj.burst_unit) ?? (unit ? 'bytes' : 'packets')}`
          : ''
      return `limit rate ${inv}${s('rate')}${unit}/${s('per') || 'second'}${burst}`
    }
    case 'quota':
      if (typeof x === 'string') return `quota name ${quote(x)}`
      if (!isObject(x) || obj.val === undefined) return `quota name ${expr(x, OBJECTS)}`
      return `quota ${inv}${s('val')} ${s('val_unit') || 'bytes'}`
    case 'ct count':
      return `ct count ${inv}${s('val')}`
    case 'mangle':
      return `${expr(obj.key)} set ${expr(obj.value, fmtOf(obj.key))}`
    case 'set':
    case 'map': {
      const stmts = Array.isArray(obj.stmt) ? obj.stmt.map((x) => statement(x, true)).join(' ') : ''
      const elem = `${expr(obj.elem)}${stmts ? ` ${stmts}` : ''}${k === 'map' ? ` : ${expr(obj.data)}` : ''}`
      return `${s('op')} ${s(k)} { ${elem} }`
    }
    case 'vmap':
      return `${expr(obj.key)} vmap ${expr(obj.data, fmtOf(obj.key))}`
    case 'notrack':
      return 'notrack'
    case 'queue': {
      const flags = ([] as Json[]).concat(obj.flags ?? []).map((f) => str(f) ?? '')
      const to = obj.num === undefined ? '' : ` to ${expr(obj.num)}`
      return `queue${flags.length ? ` flags ${flags.join(',')}` : ''}${to}`
    }
    case 'tproxy':
      return nat(k, obj)
    case 'synproxy': {
      if (obj.mss === undefined && obj.wscale === undefined && obj.flags === undefined)
        return `synproxy name ${typeof x === 'string' ? quote(x) : expr(x, OBJECTS)}`
      const flags = ([] as Json[]).concat(obj.flags ?? []).map((f) => str(f) ?? '')
      const mss = obj.mss === undefined ? '' : ` mss ${s('mss')}`
      const wscale = obj.wscale === undefined ? '' : ` wscale ${s('wscale')}`
      return `synproxy${mss}${wscale}${flags.map((f) => ` ${f}`).join('')}`
    }
    case 'flow':
      return `flow add ${s('flowtable')}`
    case 'ct helper':
    case 'ct timeout':
    case 'ct expectation':
      return `${k} set ${typeof x === 'string' ? quote(x) : expr(x, OBJECTS)}`
    case 'secmark':
      return `meta secmark set ${typeof x === 'string' ? quote(x) : expr(x, OBJECTS)}`
  }
  if (VERDICTS.has(k) || k === 'jump' || k === 'goto') return expr(v)
  // dup, fwd, tproxy, synproxy, xt, last ...: kept by name; the text reader keeps what it knows.
  return k
}

function nat(k: string, obj: JsonObject): string {
  const parts = [k]
  const family = str(obj.family)
  if (family === 'ip' || family === 'ip6') parts.push(family)
  const typeFlags = ([] as Json[]).concat(obj.type_flags ?? obj.type ?? [])
  if (typeFlags.includes('prefix')) parts.push('prefix')
  const addr = obj.addr === undefined ? '' : expr(obj.addr)
  const port = obj.port === undefined ? '' : expr(obj.port)
  if (addr || port) {
    const a = addr.includes(':') && port && !addr.includes(' ') ? `[${addr}]` : addr
    parts.push(`to ${a}${port ? `:${port}` : ''}`)
  }
  // `netmap` is implied by the prefix map, and nft prints no flag for it.
  const flags = ([] as Json[]).concat(obj.flags ?? []).filter((x) => x !== 'netmap')
  if (flags.length) parts.push(flags.map((f) => str(f) ?? '').join(','))
  return parts.join(' ')
}
