import t from 'tap';
import { readFileSync } from 'node:fs';
import { ApMask } from '../../src/model/ap/ap-mask.js';
import { defaultTopology, defaultTopologyFile } from '../../src/model/default-topology.js';
import { Errno } from '../../src/model/errno.js';
import {
  parseTopology,
  serializeTopology,
  topologyFields,
  type Topology,
} from '../../src/model/topology.js';

const fixtureDir = new URL('../fixtures/topologies/', import.meta.url);
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`${name}.json`, fixtureDir), 'utf8'));
const schema = JSON.parse(readFileSync(new URL('../../docs/topology.schema.json', import.meta.url), 'utf8'));

const UUID_A = 'a297db4a-f4c2-11e6-90f6-d3b88d6c9525';
const UUID_B = '62177883-f1bb-47f0-914d-32a22e3a8804';
const two = { adapters: [{ id: 4, type: 'CEX7C' }, { id: 5, type: 'CEX7A' }], usageDomains: [4, 6] };

/** Everything in a Topology that a test can compare; masks by their sysfs text. */
const plain = (top: Topology): unknown => JSON.parse(JSON.stringify(top));

t.test('the default topology is the spec README table', async t => {
  const d = defaultTopology;
  t.same(
    d.adapters.map(a => [a.id, a.typeName, a.hwtype, a.mode]),
    [
      [0x04, 'CEX7C', 13, 'cca'],
      [0x05, 'CEX7C', 13, 'cca'],
      [0x06, 'CEX7A', 13, 'accel'],
      [0x0b, 'CEX7P', 13, 'ep11'],
    ],
  );
  for (const a of d.adapters) {
    t.same([a.rawHwtype, a.configured, a.chkstop, a.online, a.depth, a.maxMsgSize], [13, true, false, true, 7, 12288]);
  }
  t.same(
    d.adapters.map(a => `0x${a.functions.toString(16).toUpperCase().padStart(8, '0')}`),
    ['0x92000000', '0x92000000', '0xEA000000', '0x06000000'],
  );
  t.same(d.adapters.map(a => a.serialnr.length), [8, 8, 0, 16]);
  t.same(d.usageDomains, [0x04, 0x06, 0x47, 0x54]);
  t.same(d.controlDomains, [0x01, 0x04, 0x06, 0x47, 0x54]);
  t.ok(d.apmask.isFull() && d.aqmask.isFull());
  t.same([d.qci, d.apxa, d.maxAdapterId, d.maxDomainId], [true, true, 255, 84]);
  t.same(d.features, ['APSC', 'APXA', 'QACT', 'RC8A']);
  t.same([d.apDomain, d.configTime, d.pollThread, d.pollTimeout, d.interrupts], [4, 30, false, 250000, true]);
  t.same(d.mdevs, []);
  t.same(d.usageDomains.length * d.adapters.length, 16, '16 queues 04.0004 … 0b.0054');
});

t.test('default.json is the embedded default', async t => {
  t.same(plain(parseTopology(fixture('default'))), plain(defaultTopology));
  t.same(plain(parseTopology(defaultTopologyFile)), plain(defaultTopology));
});

t.test('absent fields take the kernel / LPAR defaults', async t => {
  const d = parseTopology({ adapters: [] });
  t.same([d.qci, d.apxa, d.maxAdapterId, d.maxDomainId], [true, true, 255, 84]);
  t.same(d.features, ['APSC', 'APXA', 'QACT', 'RC8A']);
  t.same([d.usageDomains, d.controlDomains, d.mdevs], [[], [], []]);
  t.ok(d.apmask.isFull() && d.aqmask.isFull(), 'no ap.apmask=/ap.aqmask=: all ones');
  t.same([d.apDomain, d.configTime, d.pollThread, d.pollTimeout, d.interrupts], [-1, 30, false, 250000, true]);
  t.same(parseTopology({ adapters: [], usageDomains: [3] }).controlDomains, [3], 'control domains default to usage domains');
});

t.test('without APXA the max ids are 63/15 and cards lack the N bit', async t => {
  const d = parseTopology({ adapters: [{ id: 1, type: 'cex6p' }], apxa: false, maxAdapterId: 63 });
  t.same([d.maxAdapterId, d.maxDomainId], [63, 15]);
  t.same(d.features, ['APSC', 'QACT', 'RC8A']);
  t.equal(d.adapters[0]!.functions, 0x04000000);
  t.equal(d.adapters[0]!.typeName, 'CEX6P');
  t.equal(d.adapters[0]!.hwtype, 12);
  const noQci = parseTopology({ adapters: [], qci: false });
  t.same([noQci.apxa, noQci.features, noQci.maxAdapterId, noQci.maxDomainId], [false, [], 63, 15]);
  t.same(parseTopology({ adapters: [], features: ['RC8A', 'APSC'] }).apxa, false, 'apxa follows features');
  t.same(parseTopology({ adapters: [], features: ['APSB', 'APXA', 'APSC'] }).features, ['APSC', 'APXA', 'APSB']);
});

t.test('ids: integers, decimal and hex strings, inclusive ranges; sets merge', async t => {
  const d = parseTopology({ adapters: [], usageDomains: ['0x0004', 6, '10', '8-0x0b', ' 4 - 5 '] });
  t.same(d.usageDomains, [4, 5, 6, 8, 9, 10, 11]);
  const r = parseTopology({ adapters: [{ id: '0x10-0x13', type: 'CEX8A' }, { id: '3', type: 'CEX4C' }] });
  t.same(r.adapters.map(a => a.id), [3, 0x10, 0x11, 0x12, 0x13], 'sorted by id');
  t.same(r.adapters.map(a => a.serialnr), ['93AAC003', '', '', '', '']);
});

t.test('adapter settings', async t => {
  const [a] = parseTopology({
    adapters: [
      { id: 7, type: 'CEX8C', configured: false, chkstop: true, online: false, rawHwtype: 15, depth: 3,
        functions: '0x92800000', maxMsgSize: 32768, serialnr: 'DV7A1234' },
    ],
  }).adapters;
  t.same(a, {
    id: 7, hwtype: 14, rawHwtype: 15, mode: 'cca', typeName: 'CEX8C', configured: false, chkstop: true,
    online: false, depth: 3, functions: 0x92800000, maxMsgSize: 32768, serialnr: 'DV7A1234', driver: 'cex4card',
  });
});

t.test('masks use the ap.apmask= form, relative to all zeros', async t => {
  const m = (apmask: string): number[] => parseTopology({ adapters: [], apmask }).apmask.ids();
  t.same(m('0xf0'), [0, 1, 2, 3]);
  t.same(m('-5'), [], 'relative to zero: clearing leaves nothing');
  t.same(m('+0-255,-5').length, 255);
  t.same(m('+4,+0x0b'), [4, 11]);
  t.same(parseTopology({ adapters: [], aqmask: '0x' }).aqmask.ids(), [], 'the kernel quirk: "0x" is all zeros');
});

t.test('mdevs', async t => {
  const d = parseTopology(fixture('mdevs'));
  t.same(d.mdevs.map(m => [m.uuid, m.adapters, m.domains, m.controlDomains]), [
    [UUID_A, [5], [4, 0x47], [4]],
    [UUID_B, [6], [4, 6], [4]],
  ]);
  const up = parseTopology({ adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A.toUpperCase() }] });
  t.equal(up.mdevs[0]!.uuid, UUID_A, 'uuid in lower case');
  t.same([up.mdevs[0]!.adapters, up.mdevs[0]!.domains, up.mdevs[0]!.controlDomains], [[], [], []]);
  const over = parseTopology({
    adapters: [{ id: 4, type: 'CEX7C' }], usageDomains: [4], apmask: '0x0',
    mdevs: [{ uuid: UUID_A, adapters: ['0x20-0x21'], domains: [0x50] }],
  });
  t.same(over.mdevs[0]!.adapters, [0x20, 0x21], 'over-provisioning is allowed');
  const shared = parseTopology({
    ...two, apmask: '0x0',
    mdevs: [
      { uuid: UUID_A, adapters: [4], domains: [4], controlDomains: [1, 4] },
      { uuid: UUID_B, adapters: [5], domains: [4], controlDomains: [1, 4] },
    ],
  });
  t.equal(shared.mdevs.length, 2, 'control domains may be shared');
  t.equal(
    parseTopology({ ...two, aqmask: '+6', mdevs: [{ uuid: UUID_A, adapters: [4, 5], domains: [4] }] }).mdevs.length,
    1,
    'an APQN is reserved only when both mask bits are set',
  );
});

t.test('the result is frozen', async t => {
  const d = parseTopology(fixture('mdevs'));
  t.ok(Object.isFrozen(d) && Object.isFrozen(d.adapters) && Object.isFrozen(d.adapters[0]));
  t.ok(Object.isFrozen(d.usageDomains) && Object.isFrozen(d.mdevs) && Object.isFrozen(d.mdevs[0]!.domains));
});

for (const n of [4, 16, 64, 256]) {
  // The 256 x 256 case must load; a timeout (not a timing assertion) catches a pathological parser.
  t.test(`${n}x${n} fixture`, { timeout: 10_000 }, async t => {
    const d = parseTopology(fixture(`${n}x${n}`));
    t.equal(d.adapters.length, n);
    t.same(d.adapters.map(a => a.id), [...Array(n).keys()]);
    t.same(d.usageDomains, [...Array(n).keys()]);
    t.same(d.controlDomains, d.usageDomains);
    t.same([d.maxAdapterId, d.maxDomainId], [255, 255]);
    t.ok(new Set(d.adapters.map(a => a.typeName)).size >= Math.min(n, 8), 'mixed card types');
    t.equal(d.adapters.length * d.usageDomains.length, n * n, `${n * n} APQNs in the cross product`);
  });
}

t.test('serializeTopology round-trips every good fixture, compactly', async t => {
  for (const name of ['default', 'mdevs', '4x4', '16x16', '64x64', '256x256']) {
    const top = parseTopology(fixture(name));
    const file = serializeTopology(top);
    t.same(plain(parseTopology(file)), plain(top), name);
    t.same(plain(parseTopology(JSON.parse(JSON.stringify(file)))), plain(top), `${name} through JSON text`);
  }
  const s = serializeTopology(parseTopology(fixture('256x256'))) as Record<string, unknown>;
  t.same(s.usageDomains, ['0x0000-0x00ff']);
  t.equal((s.adapters as unknown[]).length, 16, 'one range entry per card type run');
  t.same((s.adapters as unknown[])[0], { id: '0x00-0x0f', type: 'CEX7C' });
  t.equal(s.apmask, '+0-255');
  const m = serializeTopology(parseTopology(fixture('mdevs'))) as Record<string, unknown>;
  t.equal(m.apmask, '+0-4,+7-255');
  const odd = parseTopology({
    adapters: [{ id: '0-2', type: 'CEX7C' }, { id: 3, type: 'CEX7C', serialnr: 'X' }, { id: 4, type: 'CEX7A', online: false }],
    apmask: '0x0',
  });
  const os = serializeTopology(odd) as Record<string, unknown>;
  t.same(os.adapters, [
    { id: '0x00-0x02', type: 'CEX7C' },
    { id: '0x03', type: 'CEX7C', serialnr: 'X' },
    { id: '0x04', type: 'CEX7A', online: false },
  ]);
  t.equal(os.apmask, '0x0');
  t.same(plain(parseTopology(os)), plain(odd));
  for (const input of [
    { adapters: [{ id: 1, type: 'CEX5C' }], qci: false, usageDomains: [1, 2] },
    { adapters: [{ id: 7, type: 'CEX8C', configured: false, chkstop: true, rawHwtype: 15, depth: 3, functions: '0x92800000', maxMsgSize: 32768 }], apxa: false },
    { adapters: [], interrupts: false, pollThread: true, pollTimeout: 1500000, configTime: 5, apDomain: 3, usageDomains: [3] },
  ]) {
    const top = parseTopology(input);
    t.same(plain(parseTopology(serializeTopology(top))), plain(top), JSON.stringify(input).slice(0, 60));
  }
});

t.test('every field the validator accepts is in the schema, and vice versa', async t => {
  const props = (o: { properties: Record<string, { description?: string }> }): string[] => Object.keys(o.properties).sort();
  t.same(props(schema), [...topologyFields.topology].sort(), 'top level');
  t.same(props(schema.$defs.adapter), [...topologyFields.adapter].sort(), 'adapter');
  t.same(props(schema.$defs.mdev), [...topologyFields.mdev].sort(), 'mdev');
  for (const def of ['guestMatrix', 'queue', 'guest', 'zcryptNode'] as const) {
    t.same(props(schema.$defs[def]), [...topologyFields[def]].sort(), def);
  }
  for (const o of [schema, schema.$defs.adapter, schema.$defs.mdev, schema.$defs.guestMatrix, schema.$defs.queue, schema.$defs.guest, schema.$defs.zcryptNode]) {
    t.equal(o.additionalProperties, false);
    for (const [k, p] of Object.entries(o.properties as Record<string, { description?: string }>)) {
      t.ok(p.description, `${k} has a description`);
    }
  }
  t.same(schema.required, ['adapters']);
});

t.test('the fixtures only use schema properties', async t => {
  const names = ['default', 'mdevs', '4x4', '16x16', '64x64', '256x256'];
  for (const name of names) {
    const f = fixture(name) as Record<string, unknown>;
    for (const k of Object.keys(f)) t.ok(k in schema.properties, `${name}: ${k}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Refusals: [name, input, message]. Every one is EINVAL and names the field path and the value.

const apqnCases: [string, unknown, string | RegExp][] = [
  ['duplicate adapter id', fixture('bad-duplicate-adapter'), 'adapters[2].id: "0x00-0x07" lists adapter 4 again (also adapters[0])'],
  ['duplicate adapter id, same form', { adapters: [{ id: 5, type: 'CEX7C' }, { id: '0x05', type: 'CEX7A' }] }, 'adapters[1].id: "0x05" lists adapter 5 again (also adapters[0])'],
  ['adapter id out of range', { adapters: [{ id: 1, type: 'CEX7C' }, { id: 2, type: 'CEX7C' }, { id: 300, type: 'CEX7C' }] }, 'adapters[2].id: 300 is not an adapter id (0..255)'],
  ['negative adapter id', { adapters: [{ id: -1, type: 'CEX7C' }] }, 'adapters[0].id: -1 is not an adapter id (0..255)'],
  ['adapter id beyond maxAdapterId', { adapters: [{ id: 70, type: 'CEX7C' }], apxa: false }, 'adapters[0].id: 70 is beyond maxAdapterId (63)'],
  ['adapter range beyond maxAdapterId', { adapters: [{ id: '0x00-0x40', type: 'CEX7C' }], maxAdapterId: 63 }, 'adapters[0].id: "0x00-0x40" is beyond maxAdapterId (63)'],
  ['adapter id not a number', { adapters: [{ id: 'card04', type: 'CEX7C' }] }, /^adapters\[0\]\.id: "card04" is not an adapter id or range/],
  ['adapter id missing', { adapters: [{ type: 'CEX7C' }] }, 'adapters[0].id: missing'],
  ['domain id out of range', { adapters: [], usageDomains: [4, '0x100'] }, 'usageDomains[1]: "0x100" is not a domain id (0..255)'],
  ['domain beyond maxDomainId', { adapters: [], usageDomains: [85] }, 'usageDomains[0]: 85 is beyond maxDomainId (84)'],
  ['control domain beyond maxDomainId', { adapters: [], apxa: false, controlDomains: ['0-16'] }, 'controlDomains[0]: "0-16" is beyond maxDomainId (15)'],
  ['range start > end', { adapters: [], usageDomains: ['9-3'] }, 'usageDomains[0]: "9-3" is not a domain range (start > end)'],
  ['fractional id', { adapters: [], usageDomains: [4.5] }, /^usageDomains\[0\]: 4.5 is not a domain id or range/],
];

const typeCases: [string, unknown, string | RegExp][] = [
  ['unknown card type', fixture('bad-type'), 'adapters[0].type: "CEX9C" is not a card type (CEX4..CEX8 followed by C, A or P)'],
  ['card type without mode', { adapters: [{ id: 1, type: 'CEX7' }] }, /^adapters\[0\]\.type: "CEX7" is not a card type/],
  ['card type missing', { adapters: [{ id: 1 }] }, /^adapters\[0\]\.type: missing/],
  ['functions without the mode bit', { adapters: [{ id: 1, type: 'CEX7C', functions: 0x08000000 }] }, 'adapters[0].functions: 134217728 must have exactly the CCA mode bit (0x10000000) of a CEX7C'],
  ['functions with two mode bits', { adapters: [{ id: 1, type: 'CEX7A', functions: '0x18000000' }] }, /^adapters\[0\]\.functions: "0x18000000" must have exactly the ACCEL mode bit/],
  ['functions too wide', { adapters: [{ id: 1, type: 'CEX7A', functions: 0x100000000 }] }, /^adapters\[0\]\.functions: 4294967296 is not a 32-bit facility word/],
  ['maxMsgSize not a chunk multiple', { adapters: [{ id: 1, type: 'CEX7C', maxMsgSize: 5000 }] }, 'adapters[0].maxMsgSize: 5000 is not a TAPQ message size (a multiple of 4096)'],
  ['maxMsgSize too big', { adapters: [{ id: 1, type: 'CEX7C', maxMsgSize: 65536 }] }, /^adapters\[0\]\.maxMsgSize: 65536 is not a message size in bytes \(4096\.\.61440\)/],
  ['depth beyond the qd field', { adapters: [{ id: 1, type: 'CEX7C', depth: 16 }] }, 'adapters[0].depth: 16 is not a TAPQ queue depth (0..15)'],
  ['rawHwtype below hwtype', { adapters: [{ id: 1, type: 'CEX7C', rawHwtype: 12 }] }, /^adapters\[0\]\.rawHwtype: 12 is not a raw type/],
  ['serialnr on an accelerator', { adapters: [{ id: 1, type: 'CEX7A', serialnr: 'X' }] }, 'adapters[0].serialnr: "X" is not allowed: accelerators have no serial number'],
  ['serialnr on a range', { adapters: [{ id: '1-2', type: 'CEX7C', serialnr: 'X' }] }, 'adapters[0].serialnr: "X" needs a single id, not a range'],
  ['serialnr too long for CCA', { adapters: [{ id: 1, type: 'CEX7C', serialnr: '123456789' }] }, 'adapters[0].serialnr: "123456789" is not a serial number (1..8 printable characters)'],
];

const fieldCases: [string, unknown, string | RegExp][] = [
  ['unknown top-level field', { adapter: [] }, 'adapter: unknown field (did you mean "adapters"?)'],
  ['unknown adapter field', fixture('bad-unknown-field'), 'adapters[1].onlne: unknown field (did you mean "online"?)'],
  ['unknown mdev field', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A, domain: [4] }] }, 'mdevs[0].domain: unknown field (did you mean "domains"?)'],
  ['unknown field, no suggestion', { adapters: [], colour: 'red' }, 'colour: unknown field'],
  ['adapters missing', {}, /^adapters: missing/],
];

const jsonTypeCases: [string, unknown, string | RegExp][] = [
  ['topology not an object', 5, 'topology: 5 is not an object'],
  ['topology a list', [], 'topology: [] is not an object'],
  ['topology null', null, 'topology: null is not an object'],
  ['adapters not a list', { adapters: { id: 4 } }, 'adapters: {"id":4} is not a list'],
  ['adapter not an object', { adapters: ['0x04'] }, 'adapters[0]: "0x04" is not an object'],
  ['boolean as string', { adapters: [{ id: 4, type: 'CEX7C', online: 'yes' }] }, 'adapters[0].online: "yes" is not a boolean (true or false)'],
  ['qci as number', { adapters: [], qci: 1 }, 'qci: 1 is not a boolean (true or false)'],
  ['configTime as text', { adapters: [], configTime: 'thirty' }, /^configTime: "thirty" is not a scan interval/],
  ['features not a list', { adapters: [], features: 'APSC' }, 'features: "APSC" is not a list'],
  ['mdevs not a list', { adapters: [], mdevs: {} }, 'mdevs: {} is not a list'],
  ['mdev lists not a list', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A, adapters: 4 }] }, 'mdevs[0].adapters: 4 is not a list'],
  ['$schema not a string', { adapters: [], $schema: 1 }, '$schema: 1 is not a string'],
];

const busCases: [string, unknown, string | RegExp][] = [
  ['bad mask', fixture('bad-mask'), /^apmask: "0xzz" is not a mask: hex2bitmap: /],
  ['bad relative mask', { adapters: [], aqmask: '+300' }, /^aqmask: "\+300" is not a mask: modify_bitmap: /],
  ['mask with a space', { adapters: [], aqmask: '+1 ,+2' }, /^aqmask: "\+1 ,\+2" is not a mask: /],
  ['mask not a string', { adapters: [], apmask: 5 }, /^apmask: 5 is not a mask string/],
  ['configTime below 5', { adapters: [], configTime: 4 }, 'configTime: 4 is not a scan interval in seconds (5..120)'],
  ['configTime above 120', { adapters: [], configTime: 121 }, 'configTime: 121 is not a scan interval in seconds (5..120)'],
  ['pollTimeout too big', { adapters: [], pollTimeout: 120000000001 }, 'pollTimeout: 120000000001 is not a poll interval in ns (0..120000000000)'],
  ['pollThread with interrupts', { adapters: [], pollThread: true }, /^pollThread: true is impossible while interrupts are in use/],
  ['apDomain beyond maxDomainId', { adapters: [], apxa: false, apDomain: 16 }, 'apDomain: 16 is beyond maxDomainId (15)'],
  ['apDomain a range', { adapters: [], usageDomains: [4], apDomain: '4-5' }, 'apDomain: "4-5" is not a domain id (-1 for none)'],
  ['unknown feature', { adapters: [], features: ['APSC', 'APQX'] }, 'features[1]: "APQX" is not a QCI feature (APSC APXA QACT RC8A APSB)'],
  ['feature twice', { adapters: [], features: ['APSC', 'APSC'] }, 'features[1]: "APSC" is listed twice'],
  ['APXA feature vs apxa', { adapters: [], apxa: false, features: ['APSC', 'APXA'] }, 'features: ["APSC","APXA"] must not list APXA when apxa is false'],
  ['apxa without qci', { adapters: [], qci: false, apxa: true }, 'apxa: true needs qci (APXA is reported by QCI)'],
  ['features without qci', { adapters: [], qci: false, features: ['APSC'] }, 'features: ["APSC"] needs qci (features are QCI facility bits)'],
  ['max id without APXA', { adapters: [], apxa: false, maxAdapterId: 255 }, 'maxAdapterId: 255 needs apxa (without APXA the kernel shows 63)'],
  ['max id 0 with APXA', { adapters: [], maxDomainId: 0 }, 'maxDomainId: 0 is not possible with APXA (QCI reporting 0 leaves the default 15)'],
  ['max id above 255', { adapters: [], maxDomainId: 256 }, 'maxDomainId: 256 is not an id (0..255)'],
];

const mdevCases: [string, unknown, string | RegExp][] = [
  ['mdev uuid not a UUID', { adapters: [], apmask: '0x0', mdevs: [{ uuid: 'xyz' }] }, 'mdevs[0].uuid: "xyz" is not a UUID'],
  ['mdev uuid missing', { adapters: [], apmask: '0x0', mdevs: [{ adapters: [4] }] }, 'mdevs[0].uuid: missing'],
  ['mdev uuid duplicated', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A }, { uuid: UUID_A.toUpperCase() }] }, `mdevs[1].uuid: "${UUID_A.toUpperCase()}" is already used by mdevs[0]`],
  ['mdev adapter beyond maxAdapterId', { adapters: [], apxa: false, apmask: '0x0', mdevs: [{ uuid: UUID_A, adapters: [64] }] }, 'mdevs[0].adapters[0]: 64 is beyond maxAdapterId (63)'],
  ['mdev domain beyond maxDomainId', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A, domains: [4, '0x55'] }] }, 'mdevs[0].domains[1]: "0x55" is beyond maxDomainId (84)'],
  ['mdev control domain beyond maxDomainId', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A, controlDomains: [200] }] }, 'mdevs[0].controlDomains[0]: 200 is beyond maxDomainId (84)'],
  ['mdev adapter out of range', { adapters: [], apmask: '0x0', mdevs: [{ uuid: UUID_A, adapters: [256] }] }, 'mdevs[0].adapters[0]: 256 is not an adapter id (0..255)'],
  ['two mdevs share an APQN', fixture('bad-mdev-sharing'), `mdevs[1]: APQN 05.0004 is already assigned to mdevs[0] (${UUID_A}); the kernel never lets two mdevs share an APQN`],
  ['mdev APQN reserved for the host', fixture('bad-mdev-reserved'), 'mdevs[1]: APQN 04.0006 is reserved for the host (apmask bit 4 and aqmask bit 6 are set); the kernel would have refused to assign it'],
  ['mdev APQN reserved by default masks', { ...two, mdevs: [{ uuid: UUID_A, adapters: [5], domains: [6] }] }, /^mdevs\[0\]: APQN 05\.0006 is reserved for the host/],
];

/** A machine with card 04 reserved for the host (cex4queue) and card 05 left to vfio_ap. */
const st = { adapters: [{ id: 4, type: 'CEX7C' }, { id: 5, type: 'CEX7C' }], usageDomains: [4, 6], apmask: '+4' };
const withMdev = { ...st, mdevs: [{ uuid: UUID_A, adapters: [5], domains: [4] }] };

const stateCases: [string, unknown, string | RegExp][] = [
  ['queue id not a queue name', { ...st, queues: [{ id: '5.4' }] }, 'queues[0].id: "5.4" is not a queue name ("05.0004")'],
  ['queue id missing', { ...st, queues: [{ driver: 'none' }] }, 'queues[0].id: missing'],
  ['queue not of this machine', { ...st, queues: [{ id: '05.0005' }] }, /^queues\[0\]\.id: "05\.0005" is not a queue of this machine/],
  ['queue without qci', { ...st, qci: false, apxa: false, queues: [{ id: '05.0004' }] }, /^queues\[0\]\.id: "05\.0004" is not a queue of this machine/],
  ['queue twice', { ...st, queues: [{ id: '05.0004' }, { id: '05.0004', driver: 'none' }] }, 'queues[1].id: "05.0004" is already described by queues[0]'],
  ['queue driver unknown', { ...st, queues: [{ id: '05.0004', driver: 'zcrypt' }] }, 'queues[0].driver: "zcrypt" is not one of cex4queue, vfio_ap, none'],
  ['cex4queue on a free queue', { ...st, queues: [{ id: '05.0004', driver: 'cex4queue' }] }, /^queues\[0\]\.driver: "cex4queue" may not hold a queue that apmask\/aqmask leave to vfio_ap/],
  ['vfio_ap on a reserved queue', { ...st, queues: [{ id: '04.0004', driver: 'vfio_ap' }] }, /^queues\[0\]\.driver: "vfio_ap" may not hold a queue reserved for the host/],
  ['resetStatus without vfio_ap', { ...st, queues: [{ id: '04.0004', resetStatus: 1 }] }, 'queues[0].resetStatus: 1 is only kept for a queue bound to vfio_ap'],
  ['resetStatus of an unbound queue', { ...st, queues: [{ id: '05.0004', driver: 'none', resetStatus: 1 }] }, 'queues[0].resetStatus: 1 is only kept for a queue bound to vfio_ap'],
  ['devState unknown', { ...st, queues: [{ id: '05.0004', devState: 'running' }] }, /^queues\[0\]\.devState: "running" is not one of uninitiated, operating/],
  ['queue flag not a boolean', { ...st, queues: [{ id: '05.0004', online: 0 }] }, 'queues[0].online: 0 is not a boolean (true or false)'],
  ['unknown queue field', { ...st, queues: [{ id: '05.0004', drvier: 'none' }] }, 'queues[0].drvier: unknown field (did you mean "driver"?)'],
  ['card driver unknown', { adapters: [{ id: 4, type: 'CEX7C', driver: 'vfio_ap' }] }, 'adapters[0].driver: "vfio_ap" is not one of cex4card, none'],
  ['guest name', { ...withMdev, guests: [{ name: '-vm' }] }, /^guests\[0\]\.name: "-vm" is not a guest name/],
  ['guest name missing', { ...withMdev, guests: [{ mdev: UUID_A }] }, 'guests[0].name: missing'],
  ['guest twice', { ...withMdev, guests: [{ name: 'vm1' }, { name: 'vm1' }] }, 'guests[1].name: "vm1" is already used by guests[0]'],
  ['guest on an unknown mdev', { ...withMdev, guests: [{ name: 'vm1', mdev: UUID_B }] }, `guests[0].mdev: "${UUID_B}" is not the uuid of one of the mdevs`],
  ['two guests on one mdev', { ...withMdev, guests: [{ name: 'vm1', mdev: UUID_A }, { name: 'vm2', mdev: UUID_A }] }, `guests[1].mdev: "${UUID_A}" is already open by guests[0]`],
  ['guestMatrix outside matrix', { ...st, mdevs: [{ uuid: UUID_A, adapters: [5], domains: [4], guestMatrix: { adapters: [5], domains: [6] } }] }, /^mdevs\[0\]\.guestMatrix\.domains: \[6\] holds 6, which the mdev's domains do not/],
  ['guestMatrix field', { ...st, mdevs: [{ uuid: UUID_A, guestMatrix: { adapter: [] } }] }, 'mdevs[0].guestMatrix.adapter: unknown field (did you mean "adapters"?)'],
  ['zcrypt node name with a slash', { adapters: [], zcryptNodes: [{ name: 'a/b' }] }, /^zcryptNodes\[0\]\.name: "a\/b" is not a zcrypt node name/],
  ['zcrypt node name too long', { adapters: [], zcryptNodes: [{ name: 'x'.repeat(32) }] }, /^zcryptNodes\[0\]\.name: .* is not a zcrypt node name/],
  ['zcrypt node twice', { adapters: [], zcryptNodes: [{ name: 'n' }, { name: 'n' }] }, 'zcryptNodes[1].name: "n" is already used by zcryptNodes[0]'],
  ['zcrypt minor twice', { adapters: [], zcryptNodes: [{ name: 'a', minor: 3 }, { name: 'b', minor: 3 }] }, 'zcryptNodes[1].minor: 3 is already used by zcryptNodes[0]'],
  ['zcrypt minor out of range', { adapters: [], zcryptNodes: [{ name: 'a', minor: 256 }] }, 'zcryptNodes[0].minor: 256 is not a minor number (0..255)'],
  ['zcrypt mask', { adapters: [], zcryptNodes: [{ name: 'a', apmask: '0xzz' }] }, /^zcryptNodes\[0\]\.apmask: "0xzz" is not a mask/],
  ['scans below 1', { adapters: [], scans: 0 }, /^scans: 0 is not a scan count/],
  ['driversAutoprobe not a boolean', { adapters: [], driversAutoprobe: 'no' }, 'driversAutoprobe: "no" is not a boolean (true or false)'],
];

t.test('saved state: apDomain is what ap_domain reads, even after its domain left', async t => {
  // ap_domain_store checks aqmask only when written; a later aqmask write or SE/HMC change keeps it.
  t.equal(parseTopology({ adapters: [], usageDomains: [4, 6], apDomain: 5 }).apDomain, 5);
  t.equal(parseTopology({ adapters: [], usageDomains: [4], aqmask: '+0-3,+5-255', apDomain: '0x04' }).apDomain, 4);
});

t.test('saved state fields: defaults and normal forms', async t => {
  const d = parseTopology(st);
  t.same([d.scans, d.driversAutoprobe, d.queues, d.guests, d.zcryptNodes], [1, true, [], [], []]);
  t.equal(d.adapters[0]!.driver, 'cex4card');
  const full = parseTopology({
    ...withMdev,
    adapters: [{ id: 4, type: 'CEX7C', driver: 'none' }, { id: 5, type: 'CEX7C' }],
    scans: 7,
    driversAutoprobe: false,
    queues: [{ id: '05.0006', driver: 'none', devState: 'uninitiated', smState: 'reset_start', interrupt: false }, { id: '05.0004', resetStatus: 3, config: false }],
    guests: [{ name: 'vm1', mdev: UUID_A.toUpperCase() }, { name: 'vm0' }],
    zcryptNodes: [{ name: 'b', minor: 0 }, { name: 'a', apmask: '+4-5' }],
    mdevs: [{ uuid: UUID_A, adapters: [5], domains: [4, 6], guestMatrix: { adapters: ['0x05'], domains: [4] } }],
  });
  t.same(full.queues, [
    { apid: 5, apqi: 4, config: false, resetStatus: 3 },
    { apid: 5, apqi: 6, driver: 'none', devState: 'uninitiated', smState: 'reset_start', interrupt: false },
  ], 'sorted by APQN, only the fields given');
  t.same(full.guests, [{ name: 'vm1', mdev: UUID_A }, { name: 'vm0' }], 'in start order, uuid in lower case');
  t.same(full.zcryptNodes.map(n => [n.name, n.minor, n.apmask.ids()]), [['b', 0, []], ['a', 1, [4, 5]]], 'the lowest free minor by default');
  t.same(full.mdevs[0]!.guestMatrix, { adapters: [5], domains: [4], controlDomains: [] });
  t.equal(parseTopology(withMdev).mdevs[0]!.guestMatrix, undefined, 'absent: the filter derives it');
  t.equal(full.adapters[0]!.driver, 'none');
  const again = parseTopology(JSON.parse(JSON.stringify(serializeTopology(full))));
  t.same(plain(again), plain(full), 'serializeTopology round-trips the saved state');
  t.same(full.zcryptNodes[1]!.apmask, full.zcryptNodes[1]!.apmask, 'node masks are copies');
  t.not(full.zcryptNodes[1]!.apmask, full.zcryptNodes[1]!.apmask);
});

for (const [group, cases] of Object.entries({ apqnCases, typeCases, fieldCases, jsonTypeCases, busCases, mdevCases, stateCases })) {
  t.test(group, async t => {
    for (const [name, input, message] of cases) {
      t.throws(() => parseTopology(input), { name: 'KernelError', errno: Errno.EINVAL, why: message }, name);
    }
  });
}

t.test('the bad fixtures are refused and the good ones are not', async t => {
  t.doesNotThrow(() => parseTopology(fixture('mdevs')));
  for (const name of ['bad-duplicate-adapter', 'bad-unknown-field', 'bad-type', 'bad-mask', 'bad-mdev-sharing', 'bad-mdev-reserved']) {
    t.throws(() => parseTopology(fixture(name)), { name: 'KernelError', errno: Errno.EINVAL }, name);
  }
});

t.test('the masks cannot be changed through a Topology', async t => {
  const d = defaultTopology;
  t.ok(d.apmask instanceof ApMask);
  t.not(d.apmask, d.apmask, 'every read is a copy');
  d.apmask.clear(4);
  d.aqmask.clear(4);
  t.ok(d.apmask.isFull() && d.aqmask.isFull(), 'the shared default is untouched');
  t.equal(JSON.stringify(d).includes(`"apmask":"0x${'f'.repeat(64)}"`), true, 'masks still serialise as data');
});

t.test('the example in docs/topology.md is valid', async t => {
  const md = readFileSync(new URL('../../docs/topology.md', import.meta.url), 'utf8');
  const example = /```json\n([\s\S]*?)```/.exec(md)?.[1];
  t.ok(example, 'docs/topology.md has a json example');
  const top = parseTopology(JSON.parse(example!));
  t.same(top.adapters.map(a => a.id), [4, 5, 6, ...Array.from({ length: 16 }, (_, i) => 0x10 + i)]);
  t.same(top.controlDomains, [1, 4, 5, 6]);
  t.equal(top.mdevs[0]!.uuid, UUID_A);
  const saved = [...md.matchAll(/```json\n([\s\S]*?)```/g)][1]?.[1];
  t.ok(saved, 'docs/topology.md has a saved-state example');
  const st = parseTopology(JSON.parse(saved!));
  t.same([st.queues.length, st.guests, st.scans], [1, [{ name: 'vm1', mdev: UUID_A }], 3]);
});
