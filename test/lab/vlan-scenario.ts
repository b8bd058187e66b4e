/** The VLAN scenario: 802.1Q-tagged frames on a real veth, over subinterfaces or injected. */
import { hasProgram } from '../support/run'
import { capturing, type CaptureOptions } from './lab-capture'
import type { Host, Lab } from './lab-host'
import { ping, tcpClient, tcpServer, udpSend } from './lab-traffic'

/** Addresses and tags of the VLAN scenario. */
export const VLAN = {
  id: 100,
  outer: 200,
  a: '10.77.100.1',
  b: '10.77.100.2',
  a6: 'fd77:100::1',
  b6: 'fd77:100::2',
  port: 7100,
  clientPort: 40100,
  udpPort: 7101,
  udpClientPort: 40101,
  synSeq: 1_000_000,
  /** Priority code point on the injected SYN's tag: the VLAN id must be read without it. */
  pcp: 5
} as const

/** The VLAN scenario's captures. */
export interface VlanCaptures {
  /**
   * "subinterface": real traffic over `type vlan id 100` devices (needs the 8021q module);
   * "injected": tagged frames written to a packet socket on a0 (kernels without 8021q).
   */
  mode: 'subinterface' | 'injected'
  /** tcpdump -i b0 on the receiving host: Ethernet with 802.1Q tags. */
  receiver: string
  /** tcpdump -i a0 on the sending host. */
  sender: string
  /** tcpdump -i any on the receiving host. */
  receiverAny: string
  /** b0's ifindex inside the receiving host's namespace. */
  receiverIfindex: number
}

/** Whether raw frames can be injected (perl opens the packet socket). */
export function vlanUnavailable(): string | undefined {
  return hasProgram('perl') ? undefined : 'injecting VLAN-tagged frames needs perl'
}

/** Writes each hex frame to a packet socket bound to interface number ARGV[0]. */
const INJECT = `
socket(my $s, 17, 3, 0) or die "socket: $!";
bind($s, pack('S n i S C C a8', 17, 0, shift @ARGV, 0, 0, 0, '')) or die "bind: $!";
for my $hex (@ARGV) { send($s, pack('H*', $hex), 0) or die "send: $!"; select(undef, undef, undef, 0.02) }
`

/**
 * (6) A VLAN-tagged link: `type vlan id 100` subinterfaces on both ends of a veth with ping and a
 * TCP exchange over them, captured on the parent veths. Where the kernel has no 802.1Q support,
 * the same kinds of tagged frames (plus a QinQ frame) are injected into the veth instead.
 */
export async function vlanScenario(lab: Lab): Promise<VlanCaptures> {
  const a = await lab.host('vlan-a')
  const b = await lab.host('vlan-b')
  try {
    await lab.link({ host: a, dev: 'a0' }, { host: b, dev: 'b0' })
    const receiverIfindex = await b.ifindex('b0')
    const sub = `a0.${VLAN.id}`
    const real =
      (
        await a.exec('ip', [
          'link',
          'add',
          'link',
          'a0',
          'name',
          sub,
          'type',
          'vlan',
          'id',
          String(VLAN.id)
        ])
      ).code === 0
    const specs: Array<[Host, CaptureOptions]> = [
      [b, { file: 'vlan-receiver.pcap', ifaces: ['b0'] }],
      [a, { file: 'vlan-sender.pcap', ifaces: ['a0'] }],
      [b, { file: 'vlan-receiver-any.pcap', ifaces: ['any'] }]
    ]
    if (real) {
      await b.ip(
        'link',
        'add',
        'link',
        'b0',
        'name',
        `b0.${VLAN.id}`,
        'type',
        'vlan',
        'id',
        String(VLAN.id)
      )
      await a.ip('addr', 'add', `${VLAN.a}/24`, 'dev', sub)
      await b.ip('addr', 'add', `${VLAN.b}/24`, 'dev', `b0.${VLAN.id}`)
      await a.ip('link', 'set', 'dev', sub, 'up')
      await b.ip('link', 'set', 'dev', `b0.${VLAN.id}`, 'up')
      await tcpServer(b, { host: VLAN.b, port: VLAN.port, expect: 10, reply: 10 })
      const { files } = await capturing(lab, specs, async () => {
        await ping(a, VLAN.b, 2)
        const res = await tcpClient(a, {
          host: VLAN.b,
          port: VLAN.port,
          localPort: VLAN.clientPort,
          send: 10,
          timeoutMs: 5_000
        })
        if (!res.connected) throw new Error(`TCP over the VLAN failed: ${res.error}`)
        await udpSend(a, {
          host: VLAN.b,
          port: VLAN.udpPort,
          localPort: VLAN.udpClientPort,
          payload: 'verdict',
          waitMs: 100
        })
      })
      return {
        mode: 'subinterface',
        receiver: files[0],
        sender: files[1],
        receiverAny: files[2],
        receiverIfindex
      }
    }
    const why = vlanUnavailable()
    if (why) throw new Error(`no 8021q in this kernel, and ${why}`)
    const ifindex = await a.ifindex('a0')
    const src = macBytes(await a.mac('a0'))
    const dst = macBytes(await b.mac('b0'))
    const frames = vlanFrames(src, dst).map((f) => Buffer.from(f).toString('hex'))
    const { files } = await capturing(lab, specs, async () => {
      await a.must('perl', ['-e', INJECT, String(ifindex), ...frames])
    })
    return {
      mode: 'injected',
      receiver: files[0],
      sender: files[1],
      receiverAny: files[2],
      receiverIfindex
    }
  } finally {
    await lab.remove(a, b)
  }
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16))
}

/**
 * The injected frames: an ICMP echo request and a TCP SYN (PCP 5) tagged 100, a UDP datagram
 * over IPv6 tagged 100, and a QinQ (802.1ad 200, 802.1Q 100) echo request.
 */
export function vlanFrames(src: number[], dst: number[]): Uint8Array[] {
  const tag = (tpid: number, tci: number): number[] => [
    tpid >> 8,
    tpid & 0xff,
    tci >> 8,
    tci & 0xff
  ]
  const eth = (tags: number[][], type: number, payload: Uint8Array): Uint8Array =>
    Uint8Array.from([...dst, ...src, ...tags.flat(), type >> 8, type & 0xff, ...payload])
  const a = ipv4Bytes(VLAN.a)
  const b = ipv4Bytes(VLAN.b)
  const echo = (seq: number): Uint8Array => {
    const icmp = [8, 0, 0, 0, 0x76, 0x64, seq >> 8, seq & 0xff, ...Buffer.from('verdict-vlan')]
    put16(icmp, 2, checksum(icmp))
    return ipv4(a, b, 1, icmp, 0x7600 + seq)
  }
  const syn = [
    ...u16(VLAN.clientPort),
    ...u16(VLAN.port),
    ...u32(VLAN.synSeq),
    ...u32(0),
    0x60, // data offset: 6 words, the header and one MSS option
    0x02, // SYN
    ...u16(64240), // window
    ...u16(0), // checksum, filled in below
    ...u16(0), // urgent pointer
    ...[2, 4, ...u16(1460)] // MSS 1460
  ]
  put16(syn, 16, checksum([...a, ...b, 0, 6, ...u16(syn.length), ...syn]))
  const a6 = ipv6Bytes(VLAN.a6)
  const b6 = ipv6Bytes(VLAN.b6)
  const data = [...Buffer.from('verdict')]
  const udp = [
    ...u16(VLAN.udpClientPort),
    ...u16(VLAN.udpPort),
    ...u16(8 + data.length),
    0,
    0,
    ...data
  ]
  put16(udp, 6, checksum([...a6, ...b6, ...u32(udp.length), 0, 0, 0, 17, ...udp]))
  const ip6 = Uint8Array.from([0x60, 0, 0, 0, ...u16(udp.length), 17, 64, ...a6, ...b6, ...udp])
  return [
    eth([tag(0x8100, VLAN.id)], 0x0800, echo(1)),
    eth([tag(0x8100, (VLAN.pcp << 13) | VLAN.id)], 0x0800, ipv4(a, b, 6, syn, 0x7610)),
    eth([tag(0x8100, VLAN.id)], 0x86dd, ip6),
    eth([tag(0x88a8, VLAN.outer), tag(0x8100, VLAN.id)], 0x0800, echo(2))
  ]
}

function ipv4(
  src: number[],
  dst: number[],
  proto: number,
  payload: number[],
  id: number
): Uint8Array {
  const h = [
    0x45,
    0,
    ...u16(20 + payload.length),
    ...u16(id),
    0x40,
    0,
    64,
    proto,
    0,
    0,
    ...src,
    ...dst
  ]
  put16(h, 10, checksum(h))
  return Uint8Array.from([...h, ...payload])
}

function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number)
}

function ipv6Bytes(a: string): number[] {
  const [head, tail = ''] = a.split('::')
  const hs = head ? head.split(':') : []
  const ts = tail ? tail.split(':') : []
  const groups = [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts]
  return groups.flatMap((g) => u16(parseInt(g, 16)))
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff]
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

function put16(b: number[], at: number, v: number): void {
  b[at] = v >> 8
  b[at + 1] = v & 0xff
}

function checksum(bytes: number[]): number {
  let sum = 0
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0)
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}
