import { useApp } from '../store/app-store'

const SHOWN = 500

/** The selected file's first packets, one row each, as `verdict packets` prints them. */
export function PacketTable() {
  const file = useApp((s) => s.files[s.selectedFile])
  if (!file) return null
  const rows = file.records.slice(0, SHOWN)
  const more = (file.summary?.packets ?? 0) - rows.length
  return (
    <table className="packets">
      <thead>
        <tr>
          <th>#</th>
          <th>time (UTC)</th>
          <th>source</th>
          <th>destination</th>
          <th>proto</th>
          <th>info</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.n} className={r.problem ? 'bad' : ''}>
            <td>{r.n}</td>
            <td>{r.ts.slice(11, -1)}</td>
            <td>{r.src ? `${r.src}${r.sport !== undefined ? ':' + r.sport : ''}` : ''}</td>
            <td>{r.dst ? `${r.dst}${r.dport !== undefined ? ':' + r.dport : ''}` : ''}</td>
            <td>{r.proto}</td>
            <td>{info(r)}</td>
          </tr>
        ))}
        {more > 0 && (
          <tr>
            <td colSpan={6}>… {more.toLocaleString()} more packets</td>
          </tr>
        )}
      </tbody>
    </table>
  )
}

function info(r: {
  tcpFlags?: string
  icmpType?: number
  icmpCode?: number
  mtu?: number
  problem?: string
}): string {
  if (r.problem) return r.problem
  if (r.tcpFlags) return `[${r.tcpFlags}]`
  if (r.icmpType !== undefined)
    return `type ${r.icmpType} code ${r.icmpCode}${r.mtu !== undefined ? ` mtu ${r.mtu}` : ''}`
  return ''
}
