/** Log files are recognised by content: kernel lines, journal JSON, audit, fail2ban and auth logs. */
import { describe, expect, it } from 'vitest'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { journalBytes, WRAPPERS } from './wrap-kernel-line'

const KERNEL =
  'vl-DROP: IN=b0 OUT= MAC=da:da:f2:1e:cb:15:32:05:f7:41:92:8e:08:00 SRC=10.93.0.1 DST=10.93.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0'

describe('detectTextKind for logs', () => {
  it.each(Object.entries(WRAPPERS))('kernel lines in %s', (name, wrap) => {
    const format = name === 'journal-json' ? 'journal-json' : 'kernel-log'
    expect(detectTextKind(wrap(KERNEL) + '\n')).toEqual({ kind: 'log', format })
  })

  it.each([
    ['journal JSON with a byte-array MESSAGE', journalBytes(KERNEL), 'journal-json'],
    [
      'conntrack table full (6.x)',
      '[ 1.0] nf_conntrack: nf_conntrack: table full in netns 4026531840, dropping packet',
      'kernel-log'
    ],
    ['conntrack suppressed count', '[ 1.0] nf_conntrack: 12 callbacks suppressed', 'kernel-log'],
    [
      'an AVC denial',
      'type=AVC msg=audit(1.2:3): avc:  denied  { name_connect } for  pid=1 comm="x" dest=80',
      'audit-log'
    ],
    [
      'a fail2ban ban',
      '2006-02-13 15:52:30,388 fail2ban.actions        [123]: NOTICE  [sshd] Ban 1.2.3.4',
      'fail2ban-log'
    ],
    [
      'a TCP-wrappers refusal',
      'Nov 11 23:33:27 srv sshd[5174]: refused connect from 192.0.2.9',
      'auth-log'
    ]
  ])('%s', (_, text, format) => {
    expect(detectTextKind(`${text}\n`)).toEqual({ kind: 'log', format })
  })

  it('an ordinary syslog line is not a log Verdict reads', () => {
    expect(detectTextKind('Nov 21 10:00:00 host cron[1]: job done\n').kind).toBe('unknown')
  })
})
