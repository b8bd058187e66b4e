import { describe, expect, it } from 'vitest'
import { isListening, readSs } from '../../../../src-main/engine/hostfacts/read-ss'
import { fixture } from './fixture'

describe('readSs', () => {
  it('reads ss -tlnpu (host B)', () => {
    const s = readSs('ss', fixture('ss-tlnpu.txt'))
    expect(s.problems).toEqual([])
    expect(
      s.listeners.map((l) => [l.proto, l.localAddress, l.address, l.iface, l.port, l.process])
    ).toEqual([
      ['udp', '127.0.0.53%lo', '127.0.0.53', 'lo', 53, 'python3'],
      ['udp', '10.77.0.2', '10.77.0.2', undefined, 5353, 'nc'],
      ['tcp', '0.0.0.0', '0.0.0.0', undefined, 8080, 'nc'],
      ['tcp', '127.0.0.1', '127.0.0.1', undefined, 7070, 'nc'],
      ['tcp', '*', '*', undefined, 9090, 'node'],
      ['tcp', '[::]', '::', undefined, 6061, 'python3'],
      ['tcp', '[::1]', '::1', undefined, 6062, 'python3']
    ])
    expect(s.listeners[4]).toMatchObject({ state: 'LISTEN', recvQ: 0, sendQ: 511 })
    expect(typeof s.listeners[4].pid).toBe('number')
  })

  it('reads ss -tlnp -H and ss -ulnp (no Netid column)', () => {
    const t = readSs('t', fixture('ss-tlnp-H.txt'))
    expect(t.problems).toEqual([])
    expect(t.listeners.map((l) => `${l.proto} ${l.localAddress}:${l.port}`)).toEqual([
      'tcp 0.0.0.0:8080',
      'tcp 127.0.0.1:7070',
      'tcp *:9090',
      'tcp [::]:6061',
      'tcp [::1]:6062'
    ])
    const u = readSs('u', fixture('ss-ulnp.txt'))
    expect(u.listeners.map((l) => `${l.proto} ${l.localAddress}:${l.port}`)).toEqual([
      'udp 127.0.0.53%lo:53',
      'udp 10.77.0.2:5353'
    ])
  })

  it('isListening: wildcards, v6-only, v4-mapped, device-bound', () => {
    const l = readSs('ss', fixture('ss-tlnpu.txt')).listeners
    expect(isListening(l, 'tcp', '10.77.0.2', 8080)).toBe(true)
    expect(isListening(l, 'tcp', '::ffff:10.77.0.2', 8080)).toBe(true)
    expect(isListening(l, 'tcp', 'fd77::2', 8080)).toBe(false)
    expect(isListening(l, 'tcp', '10.77.0.2', 9090)).toBe(true)
    expect(isListening(l, 'tcp', '[fd77::2]', 9090)).toBe(true)
    expect(isListening(l, 'tcp', 'fd77::2', 6061)).toBe(true)
    expect(isListening(l, 'tcp', '10.77.0.2', 6061)).toBe(false)
    expect(isListening(l, 'tcp', '::1', 6062)).toBe(true)
    expect(isListening(l, 'tcp', '127.0.0.1', 6062)).toBe(false)
    expect(isListening(l, 'tcp', '10.77.0.2', 7070)).toBe(false)
    expect(isListening(l, 'tcp', '127.0.0.1', 7070)).toBe(true)
    expect(isListening(l, 'udp', '10.77.0.2', 5353)).toBe(true)
    expect(isListening(l, 'udp', '10.77.0.1', 5353)).toBe(false)
    expect(isListening(l, 'tcp', '10.77.0.2', 5353)).toBe(false)
    expect(isListening(l, 'udp', '127.0.0.53', 53)).toBe(true)
    expect(isListening(l, 'udp', '127.0.0.53', 53, 'eth0')).toBe(false)
    const old = readSs('old', 'LISTEN 0 128 :::22 :::*\n').listeners
    expect(isListening(old, 'tcp', '10.0.0.1', 22)).toBe(true)
  })

  it('keeps the other lines and reports a garbled one with its line number', () => {
    const lines = fixture('ss-tlnpu.txt').split('\n')
    lines.splice(3, 0, 'tcp   LISTEN 0 1 nonsense 0.0.0.0:*')
    const s = readSs('x', lines.join('\n'))
    expect(s.problems).toHaveLength(1)
    expect(s.problems[0].at).toBe('line 4')
    expect(s.listeners).toHaveLength(7)
  })
})
