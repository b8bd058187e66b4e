import { WHAT_IF_MAX_CHARS } from '@shared/api'
import type { Flow } from '@shared/incident'

/** The commands the engine can try on copies of the snapshots. */
const TRYABLE = /^(?:sudo\s+)?(iptables|ip6tables|nft|sysctl)\s/

/**
 * Returns a fix as what-if changes: its command lines the engine can try, together as one
 * change (a fix's lines work together, as an accept and the ESTABLISHED rule it needs do), the
 * first prefixed `HOST: ` when the cause names its host (the lines after it inherit it); and
 * the lines that cannot be tried (firewall-cmd, semanage, an echo to a file...).
 */
export function fixChanges(fix: string, host?: string): { changes: string[]; skipped: string[] } {
  const tried: string[] = []
  const skipped: string[] = []
  let length = host ? host.length + 2 : 0
  for (const raw of fix.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const command = line.replace(/^sudo\s+/, '')
    // One change must stay under the engine's length limit: lines past it are not tried.
    const after = length + command.length + (tried.length > 0 ? 1 : 0)
    if (!TRYABLE.test(line) || after >= WHAT_IF_MAX_CHARS) skipped.push(line)
    else {
      tried.push(command)
      length = after
    }
  }
  if (tried.length === 0) return { changes: [], skipped }
  return { changes: [(host ? `${host}: ` : '') + tried.join('\n')], skipped }
}

/** Returns why a change typed by hand cannot be tried, or undefined when it can. */
export function typedChangeProblem(text: string): string | undefined {
  if (text.trim() === '')
    return 'type a change, such as iptables -I INPUT 1 -p tcp --dport 22 -j ACCEPT'
  if (text.length >= WHAT_IF_MAX_CHARS)
    return `a change must stay under ${WHAT_IF_MAX_CHARS} characters`
  return undefined
}

/** Returns a flow as one short line: "F16 tcp 10.0.0.1:41030 → 10.0.0.2:8081". */
export function flowLine(flow: Flow): string {
  const end = (addr: string, port?: number) =>
    port === undefined ? addr : addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
  return `${flow.id} ${flow.proto} ${end(flow.src, flow.sport)} → ${end(flow.dst, flow.dport)}`
}
