/**
 * A snapshot's verdict for a packet when only the verdict is wanted (not the trace): correlation
 * asks this of a snapshot once or twice per flow, so for a few flows or for thousands.
 */

import { decide } from '../evaluate/compile-ruleset'
import type { PacketSpec } from '../evaluate/packet-spec'
import { walkNetfilter, type WalkOptions, type WalkResult } from '../evaluate/walk-netfilter'
import type { Ruleset } from '../rulesets/model'

/**
 * Walks of one snapshot before its compiled form is made. Compiling costs about as much as
 * a few thousand walks whatever the snapshot's size (both grow with its rules: 10,000 iptables
 * rules compile in about 0.3 s, and a walk of them takes 70–200 µs), after which a decision
 * costs about a microsecond: a handful of flows never pays for compiling, a large log soon does.
 */
const COMPILE_AFTER = 2000

/** Walks made so far, by snapshot. */
const walks = new WeakMap<Ruleset, number>()

/** Returns the verdict, reject type and DNAT target of a walk of the packet (the same either way). */
export function quickVerdict(
  ruleset: Ruleset,
  packet: PacketSpec,
  options: WalkOptions
): Pick<WalkResult, 'verdict' | 'rejectWith' | 'dnatTo'> {
  const n = walks.get(ruleset) ?? 0
  if (n >= COMPILE_AFTER) return decide(ruleset, packet, options)
  walks.set(ruleset, n + 1)
  return walkNetfilter(ruleset, packet, options)
}
