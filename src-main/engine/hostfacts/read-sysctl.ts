import { problem, type Problem } from '../../shared/problem'
import { numberedLines } from './address'

/** The sysctl values the engine reasons with, typed. */
export interface SysctlFacts {
  /** net.netfilter.nf_conntrack_max */
  conntrackMax?: number
  /** net.netfilter.nf_conntrack_count */
  conntrackCount?: number
  /** net.ipv4.ip_forward (or net.ipv4.conf.all.forwarding) */
  ipv4Forwarding?: boolean
  /** net.ipv6.conf.all.forwarding */
  ipv6Forwarding?: boolean
  /** net.netfilter.nf_log_all_netns: only readable in the initial network namespace */
  nfLogAllNetns?: boolean
  /** net.ipv4.tcp_syn_retries */
  tcpSynRetries?: number
  /** net.ipv4.ip_local_port_range */
  localPortRange?: { low: number; high: number }
}

export interface SysctlSnapshot {
  /** Every key as `sysctl` names it (dots between components), value as printed (whitespace collapsed). */
  values: Map<string, string>
  /** The line each key came from. */
  lines: Map<string, number>
  facts: SysctlFacts
  problems: Problem[]
}

type Kind = 'int' | 'bool' | 'range'
const TYPED: Record<string, { field: keyof SysctlFacts; kind: Kind }> = {
  'net.netfilter.nf_conntrack_max': { field: 'conntrackMax', kind: 'int' },
  'net.nf_conntrack_max': { field: 'conntrackMax', kind: 'int' },
  'net.netfilter.nf_conntrack_count': { field: 'conntrackCount', kind: 'int' },
  'net.ipv4.ip_forward': { field: 'ipv4Forwarding', kind: 'bool' },
  'net.ipv6.conf.all.forwarding': { field: 'ipv6Forwarding', kind: 'bool' },
  'net.netfilter.nf_log_all_netns': { field: 'nfLogAllNetns', kind: 'bool' },
  'net.ipv4.tcp_syn_retries': { field: 'tcpSynRetries', kind: 'int' },
  'net.ipv4.ip_local_port_range': { field: 'localPortRange', kind: 'range' }
}

/**
 * Returns the keys and values of `sysctl -a` (`key = value`) or of
 * /proc/sys paths (`grep -H . /proc/sys/...`: `/proc/sys/net/ipv4/ip_forward:1`).
 * A line that is neither is a problem with its line number.
 */
export function readSysctl(source: string, text: string): SysctlSnapshot {
  const values = new Map<string, string>()
  const lines = new Map<string, number>()
  const problems: Problem[] = []
  for (const { lineNo, raw } of numberedLines(text)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    let key: string | undefined
    let value: string | undefined
    const path = /^\/proc\/sys\/([^:\s]+):\s*(.*)$/.exec(line)
    const kv = /^([A-Za-z0-9_][\w.\-/:@]*?)\s*=\s*(.*)$/.exec(line)
    if (path) {
      // a dot inside a component (eth0.100) is written as '/' by sysctl
      key = path[1]
        .split('/')
        .map((c) => c.replace(/\./g, '/'))
        .join('.')
      value = path[2]
    } else if (kv && !line.startsWith('sysctl:')) {
      key = kv[1]
      value = kv[2]
    }
    if (key === undefined || value === undefined) {
      problems.push(
        problem(
          source,
          `line ${lineNo}`,
          line.startsWith('sysctl:')
            ? 'sysctl reported: ' + line.slice(7).trim()
            : 'not a sysctl line',
          raw
        )
      )
      continue
    }
    value = value.trim().replace(/\s+/g, ' ')
    values.set(key, value)
    lines.set(key, lineNo)
  }
  const facts: SysctlFacts = {}
  const setFact = (key: string, t: { field: keyof SysctlFacts; kind: Kind }, value: string) => {
    const at = `line ${lines.get(key) ?? 0}`
    if (t.kind === 'range') {
      const m = /^(\d+) (\d+)$/.exec(value)
      if (!m) return problems.push(problem(source, at, `${key} is not a range: ${value}`))
      facts.localPortRange = { low: Number(m[1]), high: Number(m[2]) }
      return
    }
    if (!/^-?\d+$/.test(value))
      return problems.push(problem(source, at, `${key} is not a number: ${value}`))
    const n = Number(value)
    if (t.kind === 'bool') (facts as Record<string, boolean>)[t.field] = n !== 0
    else (facts as Record<string, number>)[t.field] = n
  }
  for (const [key, t] of Object.entries(TYPED)) {
    const value = values.get(key)
    if (value !== undefined) setFact(key, t, value)
  }
  if (facts.ipv4Forwarding === undefined) {
    const all = values.get('net.ipv4.conf.all.forwarding')
    if (all !== undefined)
      setFact('net.ipv4.conf.all.forwarding', TYPED['net.ipv4.ip_forward'], all)
  }
  return { values, lines, facts, problems }
}
