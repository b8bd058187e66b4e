import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, tcpFrame, udpFrame, type Frame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'

/** A DNS question from `client` at `sec` and its answer 20 ms later, the question's IP ID `id`. */
function lookup(client: string, sport: number, sec: number, id: number): Frame[] {
  return [
    {
      sec,
      frac: 0,
      data: udpFrame({ src: client, dst: '8.8.8.8', sport, dport: 53, id, payload: 39 })
    },
    {
      sec,
      frac: 20_000,
      data: udpFrame({ src: '8.8.8.8', dst: client, sport: 53, dport: sport, id: 900, payload: 71 })
    }
  ]
}

describe('conversations seen at several points', () => {
  it('answers that never reached the opener are unanswered, whoever else saw them; no NAT', async () => {
    // Asymmetric routing: the questions go one way, the answers another, where they are lost.
    const ask = (sec: number): Frame => ({
      sec,
      frac: 0,
      data: udpFrame({
        src: '10.0.0.1',
        dst: '8.8.8.8',
        sport: 1111,
        dport: 53,
        id: sec,
        payload: 39
      })
    })
    const answer = (sec: number): Frame => ({
      sec,
      frac: 20_000,
      data: udpFrame({
        src: '8.8.8.8',
        dst: '10.0.0.1',
        sport: 53,
        dport: 1111,
        id: 900 + sec,
        payload: 71
      })
    })
    const secs = [100, 101, 102]
    const { flows } = await analyse([
      memorySource('client.pcap', buildPcap(secs.map(ask)), { point: 'client' }),
      memorySource('server.pcap', buildPcap(secs.flatMap((t) => [ask(t), answer(t)])), {
        point: 'server'
      }),
      memorySource('back.pcap', buildPcap(secs.map(answer)), { point: 'back' })
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({
      src: '10.0.0.1',
      sport: 1111,
      outcome: 'unanswered',
      seenAt: ['client', 'server', 'back']
    })
    // The point that saw only the answers saw the same conversation the other way round.
    expect(flows[0].nat).toBeUndefined()
    // The first question and the first answer, each where it was seen and where it was not.
    expect(flows[0].keyPackets?.map((k) => [k.what, k.seenAt, k.missingAt])).toEqual([
      ['request', ['client', 'server'], ['back']],
      ['reply', ['server', 'back'], ['client']]
    ])
  })

  it('keeps the frames of the first datagram in each of a point’s files', async () => {
    // A router captured its two interfaces on their own: the question went in and out, the
    // answer came back in on the outside only.
    const [ask, answer] = lookup('10.0.0.1', 2222, 100, 7)
    const router = (name: string, frames: Frame[]) =>
      memorySource(name, buildPcap(frames), { point: 'router' })
    const { flows } = await analyse([
      router('r0.pcap', [ask]),
      router('r1.pcap', [{ ...ask, frac: 40 }, answer])
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0].keyPackets?.map((k) => [k.what, k.frames])).toEqual([
      ['request', ['router:r0.pcap#1', 'router:r1.pcap#1']],
      ['reply', ['router:r1.pcap#2']]
    ])
  })

  it("takes a host's own addresses from its ip addr: servers beside each other miss nothing", async () => {
    // One client asks two servers; each server captured its own conversation only. Both ends
    // are in every packet of a server's capture: only its ip addr says which is the server.
    const ask = (server: string, sport: number): Frame[] =>
      [0, 1, 2].map((i) => ({
        sec: 100 + i,
        frac: sport,
        data: udpFrame({
          src: '10.0.0.1',
          dst: server,
          sport,
          dport: 53,
          id: sport + i,
          payload: 39
        })
      }))
    const ipAddr = (addr: string): Uint8Array =>
      new TextEncoder().encode(
        `2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n    inet ${addr}/24 scope global eth0\n`
      )
    const sources = () => [
      memorySource('a.pcap', buildPcap(ask('10.0.0.11', 1111)), { point: 'a', host: 'a' }),
      memorySource('b.pcap', buildPcap(ask('10.0.0.12', 2222)), { point: 'b', host: 'b' }),
      memorySource('a-ip-addr.txt', ipAddr('10.0.0.11'), { host: 'a' }),
      memorySource('b-ip-addr.txt', ipAddr('10.0.0.12'), { host: 'b' })
    ]
    const known = await analyse(sources())
    expect(known.flows.map((f) => [f.dst, f.seenAt, f.missingAt])).toEqual([
      ['10.0.0.11', ['a'], undefined],
      ['10.0.0.12', ['b'], undefined]
    ])
  })

  it('keeps two conversations apart that only share a first IP ID and length', async () => {
    // Two hosts' questions a second apart happen to carry the same IP ID and length.
    const frames = [...lookup('10.0.0.1', 1111, 100, 7), ...lookup('10.0.0.2', 2222, 101, 7)]
    const pcap = buildPcap(frames)
    const { flows } = await analyse([
      memorySource('a.pcap', pcap, { point: 'a' }),
      memorySource('b.pcap', pcap, { point: 'b' })
    ])
    expect(flows.map((f) => [f.src, f.sport, f.outcome, f.seenAt])).toEqual([
      ['10.0.0.1', 1111, 'answered', ['a', 'b']],
      ['10.0.0.2', 2222, 'answered', ['a', 'b']]
    ])
    expect(flows.every((f) => f.nat === undefined)).toBe(true)
  })

  it('does not take two datagrams at two points with no end in common for one translated', async () => {
    const client = buildPcap(lookup('10.0.0.1', 1111, 100, 7))
    const [question] = lookup('10.0.0.9', 2222, 100, 7)
    const other = udpFrame({
      src: '10.0.0.9',
      dst: '9.9.9.9',
      sport: 2222,
      dport: 53,
      id: 7,
      payload: 39
    })
    const server = buildPcap([{ ...question, frac: 300_000, data: other }])
    const { flows } = await analyse([
      memorySource('client.pcap', client, { point: 'client' }),
      memorySource('server.pcap', server, { point: 'server' })
    ])
    expect(flows.map((f) => [f.src, f.dst, f.seenAt])).toEqual([
      ['10.0.0.1', '8.8.8.8', ['client']],
      ['10.0.0.9', '9.9.9.9', ['server']]
    ])
  })

  it('follows one datagram through a translation between points', async () => {
    const client = buildPcap(lookup('10.0.0.1', 1111, 100, 7))
    const server = buildPcap(
      lookup('192.0.2.1', 40001, 100, 7).map((f) => ({ ...f, frac: f.frac + 900 }))
    )
    const { flows } = await analyse([
      memorySource('client.pcap', client, { point: 'client' }),
      memorySource('server.pcap', server, { point: 'server' })
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0].nat).toMatchObject({
      from: '10.0.0.1:1111 > 8.8.8.8:53',
      to: '192.0.2.1:40001 > 8.8.8.8:53'
    })
  })

  it('follows one datagram through a translation a point saw on both sides', async () => {
    // The router's capture holds the question before and after its source was rewritten.
    const before = lookup('10.0.0.1', 1111, 100, 7)
    const after = lookup('192.0.2.1', 40001, 100, 7).map((f) => ({ ...f, frac: f.frac + 50 }))
    const router = buildPcap([before[0], after[0], after[1], before[1]])
    const client = buildPcap(before)
    const { flows } = await analyse([
      memorySource('client.pcap', client, { point: 'client' }),
      memorySource('router.pcap', router, { point: 'router' })
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({ src: '10.0.0.1', outcome: 'answered' })
    expect(flows[0].nat).toMatchObject({
      from: '10.0.0.1:1111 > 8.8.8.8:53',
      translatedAt: ['router']
    })
  })
})

describe('capture points whose clocks disagree', () => {
  /** A handshake from 10.0.0.1:port to 10.0.1.1:80 at `sec`, its ISN `isn`. */
  const handshake = (port: number, isn: number, sec: number): Frame[] => [
    { sec, frac: 0, data: tcpFrame({ src: '10.0.0.1', dst: '10.0.1.1', sport: port, seq: isn }) },
    {
      sec,
      frac: 1000,
      data: tcpFrame({
        src: '10.0.1.1',
        dst: '10.0.0.1',
        sport: 80,
        dport: port,
        seq: 5000,
        ack: isn + 1,
        flags: 0x12
      })
    },
    {
      sec,
      frac: 2000,
      data: tcpFrame({
        src: '10.0.0.1',
        dst: '10.0.1.1',
        sport: port,
        seq: isn + 1,
        ack: 5001,
        flags: 0x10
      })
    }
  ]
  const shift = (frames: Frame[], by: number): Frame[] =>
    frames.map((f) => ({ ...f, sec: f.sec + by }))
  const ask: Frame[] = [
    {
      sec: 130,
      frac: 0,
      data: udpFrame({
        src: '10.0.0.1',
        dst: '10.0.1.1',
        sport: 5353,
        dport: 53,
        id: 9,
        payload: 30
      })
    }
  ]

  it('matches conversations with the difference taken out, and says so', async () => {
    const client = [...handshake(40001, 111, 100), ...handshake(40002, 222, 120), ...ask]
    // The server's clock runs 40 s ahead: every packet it saw carries a time 40 s later.
    const server = shift(client, 40)
    const { flows, inputs } = await analyse([
      memorySource('client.pcap', buildPcap(client), { point: 'client' }),
      memorySource('server.pcap', buildPcap(server), { point: 'server' })
    ])
    expect(flows.map((f) => [f.proto, f.sport, f.seenAt])).toEqual([
      ['tcp', 40001, ['client', 'server']],
      ['tcp', 40002, ['client', 'server']],
      ['udp', 5353, ['client', 'server']]
    ])
    expect(inputs.find((i) => i.point === 'server')?.warnings).toEqual([
      "this capture's clock runs 40.0 s ahead of client's (the median over 2 TCP handshakes both points saw): conversations are matched across points with that taken out; its times are shown as the capture wrote them"
    ])
    expect(inputs.find((i) => i.point === 'client')?.warnings).toEqual([])
  })
})

describe('tunnel streams', () => {
  it('takes VXLAN streams both ways between two hosts as a working tunnel, not two failures', async () => {
    const stream = (src: string, dst: string, sport: number, sec: number): Frame => ({
      sec,
      frac: 0,
      data: udpFrame({ src, dst, sport, dport: 4789, id: sec, payload: 100 })
    })
    const frames = [
      stream('192.0.2.1', '192.0.2.2', 51000, 100),
      stream('192.0.2.2', '192.0.2.1', 52000, 101),
      // Toward a third host nothing comes back.
      stream('192.0.2.1', '192.0.2.3', 53000, 102)
    ]
    const { flows } = await analyse([memorySource('underlay.pcap', buildPcap(frames))])
    expect(flows.map((f) => [f.src, f.dst, f.outcome])).toEqual([
      ['192.0.2.1', '192.0.2.2', 'answered'],
      ['192.0.2.2', '192.0.2.1', 'answered'],
      ['192.0.2.1', '192.0.2.3', 'unanswered']
    ])
  })
})
