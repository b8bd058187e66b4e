/** Traffic for the lab: small Node programs run inside the namespaces, and ping. */
import type { Host, Proc } from './lab-host'

/** A TCP server: answers `reply` bytes and closes once it has read `expect` bytes. */
const SERVER = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const srv = net.createServer((s) => {
  let got = 0
  let answered = false
  s.on('error', () => {})
  s.on('data', (d) => {
    got += d.length
    if (!answered && got >= o.expect) {
      answered = true
      s.end(Buffer.alloc(o.reply, 0x76))
    }
  })
})
srv.listen(o.port, o.host, () => process.stdout.write('listening\\n'))
`

/** A TCP client: connects from a fixed port, sends `send` bytes, reads until the server closes. */
const CLIENT = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const out = { connected: false, sent: 0, received: 0, error: null }
let done = false
const finish = () => {
  if (done) return
  done = true
  clearTimeout(timer)
  process.stdout.write(JSON.stringify(out) + '\\n')
}
const s = net.connect({ host: o.host, port: o.port, localPort: o.localPort })
const timer = setTimeout(() => {
  if (out.error === null) out.error = 'timeout'
  s.destroy()
  finish()
}, o.timeoutMs)
s.on('connect', () => {
  out.connected = true
  if (o.send > 0) {
    s.write(Buffer.alloc(o.send, 0x63))
    out.sent = o.send
  }
})
s.on('data', (d) => { out.received += d.length })
s.on('error', (e) => { out.error = e.code || String(e) })
s.on('close', finish)
`

/** A UDP client: sends one datagram from a fixed port and waits a little for an error. */
const UDP_CLIENT = `
const dgram = require('node:dgram')
const o = JSON.parse(process.argv[1])
const s = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4')
const out = { error: null }
s.on('error', (e) => { out.error = e.code || String(e) })
s.bind(o.localPort, () => {
  s.send(Buffer.from(o.payload), o.port, o.host, (e) => {
    if (e) out.error = e.code || String(e)
    setTimeout(() => { s.close(); process.stdout.write(JSON.stringify(out) + '\\n') }, o.waitMs)
  })
})
`

/** What a TCP client saw. */
export interface ClientResult {
  connected: boolean
  sent: number
  received: number
  /** Node's error code: ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH... or "timeout" (ours). */
  error: string | null
}

/** Starts a TCP server in `host` and resolves once it listens. */
export async function tcpServer(
  host: Host,
  opts: { host: string; port: number; expect: number; reply: number }
): Promise<Proc> {
  const proc = host.spawn(process.execPath, ['-e', SERVER, JSON.stringify(opts)])
  await proc.waitFor(/listening/, `TCP server ${opts.host}:${opts.port} in ${host.ns}`)
  return proc
}

/** Runs a TCP client in `host` to completion. */
export async function tcpClient(
  host: Host,
  opts: { host: string; port: number; localPort: number; send: number; timeoutMs: number }
): Promise<ClientResult> {
  const ran = await host.exec(
    process.execPath,
    ['-e', CLIENT, JSON.stringify(opts)],
    opts.timeoutMs + 10_000
  )
  if (ran.code !== 0) throw new Error(`TCP client in ${host.ns} failed: ${ran.stderr.trim()}`)
  return JSON.parse(ran.stdout) as ClientResult
}

/** Sends one UDP datagram from `host`. */
export async function udpSend(
  host: Host,
  opts: { host: string; port: number; localPort: number; payload: string; waitMs: number }
): Promise<void> {
  const ran = await host.exec(process.execPath, ['-e', UDP_CLIENT, JSON.stringify(opts)])
  if (ran.code !== 0) throw new Error(`UDP client in ${host.ns} failed: ${ran.stderr.trim()}`)
}

/** Pings `dst` `count` times from `host`; throws unless every request was answered. */
export async function ping(host: Host, dst: string, count: number): Promise<void> {
  const args = ['-n', '-c', String(count), '-i', '0.2', '-W', '2', dst]
  if (dst.includes(':')) args.unshift('-6')
  const ran = await host.exec('ping', args)
  if (ran.code !== 0)
    throw new Error(`ping ${dst} from ${host.ns} failed: ${ran.stdout}${ran.stderr}`)
}

// ---------------------------------------------------------------------------------------------
// Services and scripted clients: several conversations with chosen endings from one topology

/** A TCP listener's script: what to send once so many bytes have arrived, and how to end. */
export interface TcpService {
  proto: 'tcp'
  host: string
  port: number
  /** Each answer is sent once the bytes read so far reach `after`. */
  answers: Array<{ after: number; send: number }>
  /** After the last answer: close (FIN), abort (RST, SO_LINGER 0) or keep the connection open. */
  close: 'end' | 'reset' | 'keep'
}

/** A UDP socket that sends every datagram back to where it came from. */
export interface UdpEchoService {
  proto: 'udp'
  host: string
  port: number
}

export type Service = TcpService | UdpEchoService

/** Listens on every service of the list; prints "listening" once all of them are ready. */
const SERVICES = `
const net = require('node:net')
const dgram = require('node:dgram')
const list = JSON.parse(process.argv[1])
let pending = list.length
const ready = () => { if (--pending === 0) process.stdout.write('listening\\n') }
for (const o of list) {
  if (o.proto === 'udp') {
    const u = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4')
    u.on('message', (m, from) => u.send(m, from.port, from.address))
    u.bind(o.port, o.host, ready)
    continue
  }
  const srv = net.createServer((s) => {
    let got = 0
    let next = 0
    s.on('error', () => {})
    s.on('data', (d) => {
      got += d.length
      while (next < o.answers.length && got >= o.answers[next].after) {
        const a = o.answers[next++]
        if (a.send > 0) s.write(Buffer.alloc(a.send, 0x76))
        if (next === o.answers.length) {
          if (o.close === 'end') s.end()
          else if (o.close === 'reset') s.resetAndDestroy()
        }
      }
    })
  })
  srv.listen(o.port, o.host, ready)
}
`

/** Starts one process in `host` serving every listed service; resolves once all listen. */
export async function services(host: Host, list: Service[]): Promise<Proc> {
  const proc = host.spawn(process.execPath, ['-e', SERVICES, JSON.stringify(list)])
  await proc.waitFor(/listening/, `services in ${host.ns}`)
  return proc
}

/**
 * A scripted TCP client: connects from a fixed address and port, then for each step writes
 * `send` bytes and waits until `await` bytes in all have come back; then waits for the server to
 * close. It gives up (destroying the socket, which sends nothing before the handshake) after
 * `timeoutMs`.
 */
const SCRIPTED_CLIENT = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const started = Date.now()
const out = { connected: false, sent: 0, received: 0, error: null, ms: 0 }
let done = false
let step = 0
const finish = () => {
  if (done) return
  done = true
  clearTimeout(timer)
  out.ms = Date.now() - started
  process.stdout.write(JSON.stringify(out) + '\\n')
}
const opts = { host: o.host, port: o.port, localPort: o.localPort }
if (o.localAddress) opts.localAddress = o.localAddress
const s = net.connect(opts)
const timer = setTimeout(() => {
  if (out.error === null) out.error = 'timeout'
  s.destroy()
  finish()
}, o.timeoutMs)
const advance = () => {
  while (step < o.steps.length && out.received >= (step === 0 ? 0 : o.steps[step - 1].await)) {
    const n = o.steps[step++].send
    if (n > 0) { s.write(Buffer.alloc(n, 0x63)); out.sent += n }
  }
}
s.on('connect', () => { out.connected = true; advance() })
s.on('data', (d) => { out.received += d.length; advance() })
s.on('error', (e) => { out.error = e.code || String(e) })
s.on('close', finish)
`

/** What a scripted TCP client saw; `ms` is how long it ran. */
export interface ScriptedResult extends ClientResult {
  ms: number
}

/** Options of a scripted TCP client. */
export interface ScriptedClient {
  host: string
  port: number
  localPort: number
  localAddress?: string
  steps: Array<{ send: number; await: number }>
  timeoutMs: number
}

/** Runs a scripted TCP client in `host` to completion. */
export async function scriptedClient(host: Host, opts: ScriptedClient): Promise<ScriptedResult> {
  const ran = await host.exec(
    process.execPath,
    ['-e', SCRIPTED_CLIENT, JSON.stringify(opts)],
    opts.timeoutMs + 10_000
  )
  if (ran.code !== 0) throw new Error(`TCP client in ${host.ns} failed: ${ran.stderr.trim()}`)
  return JSON.parse(ran.stdout) as ScriptedResult
}

/** Sends `count` datagrams, 100 ms apart; counts what comes back until `waitMs` after the last. */
const UDP_EXCHANGE = `
const dgram = require('node:dgram')
const o = JSON.parse(process.argv[1])
const s = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4')
const out = { replies: 0, error: null }
s.on('error', (e) => { out.error = e.code || String(e) })
s.on('message', () => { out.replies++ })
const done = () => { s.close(); process.stdout.write(JSON.stringify(out) + '\\n') }
s.bind(o.localPort, () => {
  let sent = 0
  const send = () => {
    s.send(Buffer.from(o.payload + sent), o.port, o.host, (e) => {
      if (e) out.error = e.code || String(e)
      if (++sent < o.count) setTimeout(send, 100)
      else setTimeout(done, o.waitMs)
    })
  }
  send()
})
`

/** Sends `count` UDP datagrams from a fixed port and returns how many answers came back. */
export async function udpExchange(
  host: Host,
  opts: {
    host: string
    port: number
    localPort: number
    payload: string
    count: number
    waitMs: number
  }
): Promise<{ replies: number; error: string | null }> {
  const ran = await host.exec(process.execPath, ['-e', UDP_EXCHANGE, JSON.stringify(opts)])
  if (ran.code !== 0) throw new Error(`UDP client in ${host.ns} failed: ${ran.stderr.trim()}`)
  return JSON.parse(ran.stdout) as { replies: number; error: string | null }
}

/** Pings `dst` `count` times, 200 ms apart; returns how many replies came back (never throws). */
export async function pingCount(host: Host, dst: string, count: number): Promise<number> {
  const args = ['-n', '-c', String(count), '-i', '0.2', '-W', '1', dst]
  if (dst.includes(':')) args.unshift('-6')
  const ran = await host.exec('ping', args)
  const m = /(\d+) (?:packets )?received/.exec(ran.stdout)
  if (!m)
    throw new Error(`ping ${dst} from ${host.ns} printed no summary: ${ran.stdout}${ran.stderr}`)
  return Number(m[1])
}
