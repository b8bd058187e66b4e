import { problem, type Problem } from '../../shared/problem'
import type { FirewalldConf } from './model'

const LOG_DENIED = ['off', 'all', 'unicast', 'broadcast', 'multicast']

/** Returns the settings of firewalld.conf that shape the generated ruleset; odd lines become problems. */
export function readFirewalldConf(text: string, file: string, problems: Problem[]): FirewalldConf {
  const conf: FirewalldConf = { logDenied: 'off', backend: 'nftables' }
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const at = `line ${i + 1}`
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line)
    if (!m) {
      problems.push(problem(file, at, 'not KEY=VALUE', raw))
      return
    }
    const [, key, value] = m
    if (key === 'DefaultZone') {
      conf.defaultZone = value
      conf.where = { file, line: i + 1 }
    } else if (key === 'LogDenied') {
      if (LOG_DENIED.includes(value)) conf.logDenied = value as FirewalldConf['logDenied']
      else
        problems.push(
          problem(file, at, `LogDenied=${value} is not one of ${LOG_DENIED.join(', ')}`, raw)
        )
    } else if (key === 'RFC3964_IPv4') {
      // firewalld turns it off for no or false, in any case; anything else keeps it on.
      if (['no', 'false'].includes(value.toLowerCase())) conf.rfc3964Ipv4 = false
    } else if (key === 'FirewallBackend') {
      if (value === 'nftables' || value === 'iptables') conf.backend = value
      else
        problems.push(
          problem(file, at, `FirewallBackend=${value} is not nftables or iptables`, raw)
        )
    }
  })
  return conf
}
