/**
 * What `apsysfs mount` shows without `--topology`: the "Default topology" table of the spec README,
 * a z15/z16-like LPAR with vfio_ap loaded and no ap.apmask=/ap.aqmask= parameters. Built through
 * parseTopology so it is validated like any file; test/fixtures/topologies/default.json is the same.
 */
import { parseTopology, type Topology } from './topology.js';

export const defaultTopologyFile = {
  adapters: [
    { id: '0x04', type: 'CEX7C' },
    { id: '0x05', type: 'CEX7C' },
    { id: '0x06', type: 'CEX7A' },
    { id: '0x0b', type: 'CEX7P' },
  ],
  usageDomains: ['0x0004', '0x0006', '0x0047', '0x0054'],
  controlDomains: ['0x0001', '0x0004', '0x0006', '0x0047', '0x0054'],
  qci: true,
  apxa: true,
  features: ['APSC', 'APXA', 'QACT', 'RC8A'],
  maxAdapterId: 255,
  maxDomainId: 84,
  apDomain: 4,
  configTime: 30,
  pollThread: false,
  pollTimeout: 250000,
  interrupts: true,
  mdevs: [],
} as const;

export const defaultTopology: Topology = parseTopology(defaultTopologyFile);
