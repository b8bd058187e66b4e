import type { FirewallSettings, Where } from './model'

/** Returns zone or policy settings with nothing allowed or blocked yet. */
export function emptySettings(name: string, where: Where): FirewallSettings {
  return {
    name,
    where,
    services: [],
    ports: [],
    protocols: [],
    sourcePorts: [],
    icmpBlocks: [],
    icmpBlockInversion: false,
    masquerade: false,
    forwardPorts: [],
    rules: []
  }
}
