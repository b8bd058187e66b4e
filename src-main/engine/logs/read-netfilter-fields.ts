/**
 * The packet a netfilter LOG / nft `log` line describes, read field by field in the order
 * net/netfilter/nf_log_syslog.c writes them: interfaces and MAC, the IP header, PROTO=, the
 * transport or ICMP header (with the quoted packet of an ICMP error in brackets), UID/GID, MARK.
 */

import { normalizeAddress, addressFamily } from '../hostfacts/address'
import type { LoggedPacket } from './log-event'
import { splitNetfilterTokens, type NetfilterToken } from './split-netfilter-tokens'

/** A logged packet and the prefix written before it. */
export interface NetfilterLine {
  prefix: string
  packet: LoggedPacket
}

const INTERFACES = /IN=(\S*)[ \t]+OUT=(\S*)/
const PACKET_KEYS = /\b(?:IN|OUT|SRC|DST|LEN|TTL|PROTO|SPT|DPT|HOPLIMIT)=/g

/** Returns true when `text` looks like a netfilter log line (it may still be unreadable). */
export function looksLikeNetfilter(text: string): boolean {
  if (INTERFACES.test(text) && /\b(?:SRC|MAC|PROTO)=/.test(text)) return true
  const keys = new Set(text.match(PACKET_KEYS) ?? [])
  return keys.size >= 3 || (keys.has('PROTO=') && keys.size >= 2)
}

/** Returns true for ARP packets logged by netfilter (`ARP HTYPE=...`), which carry no IP header. */
export function isArpLog(text: string): boolean {
  return INTERFACES.test(text) && /\bARP HTYPE=/.test(text) && !/\bSRC=/.test(text)
}

/** Returns the prefix and packet of a netfilter log message, or why it cannot be read. */
export function readNetfilterFields(message: string): NetfilterLine | { error: string } {
  const m = INTERFACES.exec(message)
  if (!m) return { error: 'no IN= OUT= fields: not a whole netfilter log line' }
  const split = splitNetfilterTokens(message.slice(m.index))
  if ('error' in split) return { error: split.error }
  const packet = readPacket(split.tokens, false)
  if ('error' in packet) return packet
  return { prefix: message.slice(0, m.index).trim(), packet }
}

type Phase = 'ip' | 'l4'

const DECIMAL: Record<string, keyof LoggedPacket> = {
  TTL: 'ttl',
  TC: 'tc',
  HOPLIMIT: 'hopLimit',
  FLOWLBL: 'flowLabel',
  'FRAG:': 'fragOffset',
  UID: 'uid',
  GID: 'gid'
}
const HEX: Record<string, keyof LoggedPacket> = { TOS: 'tos', PREC: 'prec', MARK: 'mark' }
const L4_DECIMAL: Record<string, keyof LoggedPacket> = {
  SPT: 'sport',
  DPT: 'dport',
  ACK: 'ack',
  WINDOW: 'window',
  URGP: 'urgp',
  TYPE: 'icmpType',
  CODE: 'icmpCode',
  MTU: 'mtu',
  PARAMETER: 'parameter'
}
const L4_HEX: Record<string, keyof LoggedPacket> = { RES: 'res', SPI: 'spi', POINTER: 'parameter' }
const TCP_FLAGS = new Set(['AE', 'CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN'])

function readPacket(tokens: NetfilterToken[], quoted: boolean): LoggedPacket | { error: string } {
  const p: LoggedPacket = { in: '', out: '', src: '', dst: '', proto: '' }
  const numbers = p as unknown as Record<string, number>
  let phase: Phase = 'ip'
  for (const t of tokens) {
    if (t.kind === 'quoted') {
      const inner = splitNetfilterTokens(t.text)
      if ('error' in inner) return { error: `in the quoted packet: ${inner.error}` }
      const q = readPacket(inner.tokens, true)
      if ('error' in q) return { error: `in the quoted packet: ${q.error}` }
      p.quoted = q
      continue
    }
    if (t.kind === 'option') continue
    if (t.kind === 'word') {
      readWord(p, phase, t.word)
      continue
    }
    const { key, value } = t
    if (key === 'PROTO') {
      p.proto = value
      phase = 'l4'
      continue
    }
    const text = readText(p, phase, key, value)
    if (text === 'bad') return { error: `bad address in ${key}=${value}` }
    if (text === 'done') continue
    const slot = numberSlot(p, phase, key)
    if (!slot) continue
    const n = slot.hex ? readHex(value) : readDecimal(value)
    if (n === undefined) return { error: `bad number in ${key}=${value}` }
    numbers[slot.name] = n
  }
  if (!p.src) return { error: 'no SRC= field' }
  if (!p.dst) return { error: 'no DST= field' }
  if (!p.proto && !quoted) return { error: 'no PROTO= field' }
  return p
}

function readWord(p: LoggedPacket, phase: Phase, word: string): void {
  if (phase === 'ip') {
    if (word === 'DF') p.df = true
    else if (word === 'MF') p.mf = true
    else if (word === 'CE') p.ce = true
  } else if (p.proto === 'TCP' && TCP_FLAGS.has(word)) {
    if (p.flags) p.flags.push(word)
    else p.flags = [word]
  }
  if (word === 'TRUNCATED' || word.startsWith('INCOMPLETE')) p.truncated = true
}

/** Reads the fields that stay text; 'bad' for an address that is not one. */
function readText(
  p: LoggedPacket,
  phase: Phase,
  key: string,
  value: string
): 'done' | 'bad' | 'no' {
  if (phase === 'ip') {
    if (key === 'IN') p.in = value
    else if (key === 'OUT') p.out = value
    else if (key === 'MAC') p.mac = value
    else if (key === 'PHYSIN') p.physIn = value
    else if (key === 'PHYSOUT') p.physOut = value
    else if (key === 'SRC' || key === 'DST') {
      if (!addressFamily(value)) return 'bad'
      if (key === 'SRC') p.src = normalizeAddress(value)
      else p.dst = normalizeAddress(value)
    } else return 'no'
    return 'done'
  }
  if (key !== 'GATEWAY') return 'no'
  if (!addressFamily(value)) return 'bad'
  p.gateway = value
  return 'done'
}

/** Where a numeric field goes: its property, and whether the kernel writes it in hex. */
interface Slot {
  name: string
  hex: boolean
}

/** The slots of every numeric field, by phase: made once, not per field of every line. */
const IP_SLOTS = slots({ ...DECIMAL, LEN: 'len', ID: 'id', SEQ: 'seq' }, HEX)
const L4_SLOTS = slots(
  { ...DECIMAL, ...L4_DECIMAL, LEN: 'udpLen', ID: 'icmpId', SEQ: 'seq' },
  { ...HEX, ...L4_HEX }
)
const ICMP_SEQ: Slot = { name: 'icmpSeq', hex: false }

function slots(
  decimal: Record<string, keyof LoggedPacket>,
  hex: Record<string, keyof LoggedPacket>
): Map<string, Slot> {
  const out = new Map<string, Slot>()
  for (const [key, name] of Object.entries(decimal)) out.set(key, { name, hex: false })
  for (const [key, name] of Object.entries(hex)) out.set(key, { name, hex: true })
  return out
}

/** Where a numeric field goes: LEN, ID and SEQ mean different things before and after PROTO=. */
function numberSlot(p: LoggedPacket, phase: Phase, key: string): Slot | undefined {
  if (phase === 'ip') return IP_SLOTS.get(key)
  if (key === 'SEQ' && (p.proto === 'ICMP' || p.proto === 'ICMPv6')) return ICMP_SEQ
  return L4_SLOTS.get(key)
}

function readDecimal(value: string): number | undefined {
  return /^\d{1,10}$/.test(value) ? Number(value) : undefined
}

function readHex(value: string): number | undefined {
  const m = /^(?:0x)?([0-9a-fA-F]{1,8})$/.exec(value)
  return m ? parseInt(m[1], 16) : undefined
}
