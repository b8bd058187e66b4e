/** What a firewalld-generated nft chain name refers to. */
export interface FirewalldChain {
  table: 'filter' | 'nat' | 'mangle' | 'raw'
  /** IN, FWD, OUT, PRE, POST: the hook the chain hangs from. */
  hook:
    | 'IN'
    | 'FWD'
    | 'OUT'
    | 'PRE'
    | 'POST'
    | 'INPUT'
    | 'FORWARD'
    | 'OUTPUT'
    | 'PREROUTING'
    | 'POSTROUTING'
  zone?: string
  policy?: string
  /** The sub-chain: pre, log, deny, allow, post; absent for the zone's or policy's own chain. */
  part?: 'pre' | 'log' | 'deny' | 'allow' | 'post'
  /** For dispatch chains: `filter_IN_public_to_HOST` goes from public to HOST. */
  from?: string
  to?: string
  /** A base or dispatch chain firewalld always creates (filter_INPUT, filter_INPUT_dispatch...). */
  builtin?: boolean
}

const HOOKS = 'IN|FWD|OUT|PRE|POST'

/**
 * Returns the zone or policy and part a firewalld chain name refers to
 * (`filter_IN_public_allow`, `nat_PRE_policy_foobar_pre`,
 * `filter_FWD_internal_to_external`), or undefined for a name firewalld does
 * not generate. When zone names are given, a name that could be split two
 * ways is split at a known zone.
 */
export function firewalldChainOf(
  name: string,
  zones?: Iterable<string>
): FirewalldChain | undefined {
  const known = zones ? new Set(zones) : undefined
  const b =
    /^(filter|nat|mangle|raw)_(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING)(?:_(dispatch|ZONES|POLICIES_pre|POLICIES_post))?$/.exec(
      name
    )
  if (b)
    return {
      table: b[1] as FirewalldChain['table'],
      hook: b[2] as FirewalldChain['hook'],
      builtin: true
    }
  const m = new RegExp(`^(filter|nat|mangle|raw)_(${HOOKS})_(.+)$`).exec(name)
  if (!m) return undefined
  const table = m[1] as FirewalldChain['table']
  const hook = m[2] as FirewalldChain['hook']
  let rest = m[3]
  if (rest.startsWith('policy_')) {
    const p = splitPart(rest.slice(7))
    return { table, hook, policy: p.name, ...(p.part ? { part: p.part } : {}) }
  }
  const to = /^(.+)_to_(.+)$/.exec(rest)
  if (to && (!known || known.has(to[1]) || to[1] === 'HOST' || to[1] === 'ANY'))
    return { table, hook, from: to[1], to: to[2], builtin: true }
  const stage2 = /^(.+)_dispatch_stage2$/.exec(rest)
  if (stage2) return { table, hook, from: stage2[1], builtin: true }
  const p = splitPart(rest)
  if (known && !known.has(p.name) && known.has(rest)) return { table, hook, zone: rest }
  rest = p.name
  return { table, hook, zone: rest, ...(p.part ? { part: p.part } : {}) }
}

/** What a firewalld log prefix says: which zone or policy, which action, or which built-in rule. */
export interface FirewalldLogPrefix {
  kind:
    | 'zone-target'
    | 'policy-target'
    | 'icmp-block'
    | 'final-reject'
    | 'state-invalid'
    | 'rpfilter'
    | 'rfc3964'
  action: 'REJECT' | 'DROP'
  hook?: 'IN' | 'FWD' | 'OUT'
  zone?: string
  policy?: string
  /** The chain the logging rule sits in. */
  chain: string
}

/**
 * Returns what a firewalld LogDenied prefix (`filter_IN_public_REJECT: `,
 * `filter_FWD_policy_foo_DROP: `, `FINAL_REJECT: `, `STATE_INVALID_DROP: `,
 * `filter_zone_public_HOST_ICMP_BLOCK: `) refers to, or undefined.
 */
export function firewalldLogPrefix(prefix: string): FirewalldLogPrefix | undefined {
  const p = prefix.trim().replace(/:$/, '')
  if (p === 'FINAL_REJECT') return { kind: 'final-reject', action: 'REJECT', chain: 'filter_INPUT' }
  if (p === 'STATE_INVALID_DROP')
    return { kind: 'state-invalid', action: 'DROP', chain: 'filter_INPUT' }
  if (p === 'rpfilter_DROP') return { kind: 'rpfilter', action: 'DROP', chain: 'filter_PREROUTING' }
  if (p === 'RFC3964_IPv4_REJECT')
    return { kind: 'rfc3964', action: 'REJECT', chain: 'filter_OUTPUT' }
  const icmp = /^filter_(.+)_ICMP_BLOCK$/.exec(p)
  if (icmp) {
    const z = /^zone_(.+)_(HOST|ANY)$/.exec(icmp[1])
    return z
      ? {
          kind: 'icmp-block',
          action: 'REJECT',
          hook: 'IN',
          zone: z[1],
          chain: `filter_IN_${z[1]}_deny`
        }
      : {
          kind: 'icmp-block',
          action: 'REJECT',
          policy: icmp[1],
          chain: `filter_IN_policy_${icmp[1]}_deny`
        }
  }
  const t = /^(?:filter_)?(IN|FWD|OUT)_(.+)_(REJECT|DROP)$/.exec(p)
  if (!t) return undefined
  const hook = t[1] as 'IN' | 'FWD' | 'OUT'
  const action = t[3] as 'REJECT' | 'DROP'
  if (t[2].startsWith('policy_')) {
    const policy = t[2].slice(7)
    return { kind: 'policy-target', action, hook, policy, chain: `filter_${hook}_policy_${policy}` }
  }
  const to = hook === 'IN' ? 'HOST' : undefined
  return {
    kind: 'zone-target',
    action,
    hook,
    zone: t[2],
    chain: to ? `filter_IN_${t[2]}_to_HOST` : `filter_${hook}_${t[2]}`
  }
}

function splitPart(rest: string): { name: string; part?: FirewalldChain['part'] } {
  const m = /^(.+)_(pre|log|deny|allow|post)$/.exec(rest)
  return m ? { name: m[1], part: m[2] as FirewalldChain['part'] } : { name: rest }
}
