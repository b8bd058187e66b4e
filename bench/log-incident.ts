/**
 * Benchmark input: an incident folder of one firewall host with no capture, its 10,000-rule
 * iptables-save snapshot (bench/evaluate-rulesets.ts) and a kernel log of LINES drop lines as
 * its own LOG rules write them ("input-drop: ", "forward-drop: "), what `verdict analyze` meets
 * when a user brings a day of drop logs. Seeded and deterministic:
 *
 *   node bench/data/log-incident.mjs DIR LINES [--seed N]
 *
 * Attempts come from 4,064 outside addresses to the firewall itself or through it to the zones,
 * TCP SYNs retransmitted on the kernel's 1 s, 2 s, 4 s back-off (1 to 4 lines each) and UDP
 * datagrams, a few milliseconds apart. Writes DIR/fw/rules.v4 and DIR/fw/kern.log.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { iptablesRuleset, rng } from './evaluate-rulesets'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string', default: '1' } }
})
const [dir, linesArg] = positionals
const total = Number(linesArg)
if (!dir || !(total > 0)) {
  console.error('usage: node log-incident.mjs DIR LINES [--seed N]')
  process.exit(2)
}
const seed = Number(args.seed)
const host = join(dir, 'fw')
mkdirSync(host, { recursive: true })
writeFileSync(join(host, 'rules.v4'), iptablesRuleset(seed))

const r = rng(seed + 1)
const PORTS = [22, 25, 53, 80, 443, 3306, 5432, 8080]
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number): string => String(n).padStart(2, '0')
/** Syslog's own time stamp: "Jun  1 00:00:07", local time without a year. */
function stamp(sec: number): string {
  const d = new Date(sec * 1000)
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
}

/** Each line with its time: retransmissions come seconds after the attempts that follow. */
const lines: { t: number; text: string }[] = []
let t = Date.UTC(2026, 5, 1) / 1000
while (lines.length < total) {
  const src = `198.51.${r.int(0, 15)}.${r.int(1, 254)}`
  const forward = r.chance(0.5)
  const dst = forward ? `10.${r.int(0, 63)}.${r.int(0, 255)}.${r.int(1, 254)}` : '10.255.0.1'
  const sport = r.int(32768, 60999)
  const dport = r.pick(PORTS)
  const udp = r.chance(0.2)
  const tries = udp ? 1 : r.int(1, 4)
  const head = `fw kernel: ${forward ? 'forward-drop: ' : 'input-drop: '}IN=eth0 OUT=${forward ? 'eth1' : ''} MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=${src} DST=${dst}`
  for (let k = 0; k < tries && lines.length < total; k++) {
    const id = r.int(0, 65535)
    const ttl = forward ? 63 : 64
    const l4 = udp
      ? `LEN=76 TOS=0x00 PREC=0x00 TTL=${ttl} ID=${id} DF PROTO=UDP SPT=${sport} DPT=${dport} LEN=56`
      : `LEN=60 TOS=0x00 PREC=0x00 TTL=${ttl} ID=${id} DF PROTO=TCP SPT=${sport} DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0`
    const at = t + (1 << k) - 1
    lines.push({ t: at, text: `${stamp(at)} ${head} ${l4}` })
  }
  t += r.int(1, 20) / 1000
}
// Syslog writes lines as they come.
lines.sort((a, b) => a.t - b.t)
writeFileSync(join(host, 'kern.log'), lines.map((l) => l.text).join('\n') + '\n')
console.log(JSON.stringify({ dir, lines: lines.length }))
