/**
 * The AP bus model (spec §2, §3, §5 device-state note, §6): mask writes and the rebinding they
 * cause, bind/unbind/drivers_probe, the scalar bus attributes and their parsers' quirks, bindings
 * and scans. Attribute text is read through the in-memory sysfs (no FUSE) so the file set of a
 * queue can be checked as well.
 */
import t from 'tap';
import { Errno } from '../../src/model/errno.js';
import type { Host } from '../../src/model/host.js';
import {
  FULL_MASK,
  OK,
  bindingsOf,
  driverOf,
  errnoOf,
  hostWith,
  kerr,
  maskOf,
  noLockdepReports,
  sysfs,
  type Sys,
} from '../helpers/model.js';

const ADAPTERS = [0x04, 0x05, 0x06, 0x0b];
const DOMAINS = [0x04, 0x06, 0x47, 0x54];
const qname = (a: number, d: number): string => `${a.toString(16).padStart(2, '0')}.${d.toString(16).padStart(4, '0')}`;
const qpath = (a: number, d: number): string => `devices/ap/card${a.toString(16).padStart(2, '0')}/${qname(a, d)}`;

/** Drivers of the four queues of one adapter. */
const adapterDrivers = (host: Host, a: number): (string | undefined)[] => DOMAINS.map((d) => driverOf(host, a, d));
const uevents = (host: Host, since: number): string[] =>
  host.events.entries(since).filter((e) => e.kind === 'uevent').map((e) => e.text);

async function setup(overrides: Record<string, unknown> = {}): Promise<{ host: Host; sys: Sys }> {
  const host = await hostWith(overrides);
  return { host, sys: sysfs(host) };
}

t.test('default topology: every queue bound to cex4queue, masks all ones, bindings complete', async (t) => {
  const { host, sys } = await setup();
  for (const a of ADAPTERS) t.same(adapterDrivers(host, a), ['cex4queue', 'cex4queue', 'cex4queue', 'cex4queue'], `adapter ${a}`);
  t.equal(await sys.read('bus/ap/apmask'), FULL_MASK);
  t.equal(await sys.read('bus/ap/aqmask'), FULL_MASK);
  t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
  t.equal(await sys.read('bus/ap/scans'), '1\n');
  for (const c of ADAPTERS) t.equal(host.bus.cards.get(c)?.driver?.name, 'cex4card', `card ${c} bound to cex4card`);
});

t.test('apmask/aqmask writes rebind the affected queues synchronously, both syntaxes', async (t) => {
  // [write to apmask or aqmask, text, mask read afterwards, queues expected on vfio_ap]
  const cases: [file: 'apmask' | 'aqmask', text: string, after: string, vfio: string[]][] = [
    ['apmask', '-5\n', maskOf([...Array(256).keys()].filter((i) => i !== 5)), DOMAINS.map((d) => qname(5, d))],
    ['apmask', '-0x5', maskOf([...Array(256).keys()].filter((i) => i !== 5)), DOMAINS.map((d) => qname(5, d))],
    ['apmask', '-04-06', maskOf([...Array(256).keys()].filter((i) => i < 4 || i > 6)), [4, 5, 6].flatMap((a) => DOMAINS.map((d) => qname(a, d)))],
    ['apmask', '-5,-0xb', maskOf([...Array(256).keys()].filter((i) => i !== 5 && i !== 11)), [5, 11].flatMap((a) => DOMAINS.map((d) => qname(a, d)))],
    // absolute: 0x0c = adapters 4 and 5 only; everything else leaves the default drivers
    ['apmask', '0x0c\n', maskOf([4, 5]), [6, 11].flatMap((a) => DOMAINS.map((d) => qname(a, d)))],
    ['aqmask', '-0x47', maskOf([...Array(256).keys()].filter((i) => i !== 0x47)), ADAPTERS.map((a) => qname(a, 0x47))],
    ['aqmask', '-4,-6', maskOf([...Array(256).keys()].filter((i) => i !== 4 && i !== 6)), ADAPTERS.flatMap((a) => [qname(a, 4), qname(a, 6)])],
    // §19 item 2: an empty line sets the mask to all zeros, so everything goes to vfio_ap
    ['aqmask', '\n', maskOf([]), ADAPTERS.flatMap((a) => DOMAINS.map((d) => qname(a, d)))],
    ['apmask', '0x', maskOf([]), ADAPTERS.flatMap((a) => DOMAINS.map((d) => qname(a, d)))],
  ];
  for (const [file, text, after, vfio] of cases) {
    t.test(`${file} ${JSON.stringify(text)}`, async (t) => {
      const { host, sys } = await setup();
      t.equal(await sys.write(`bus/ap/${file}`, text), OK);
      t.equal(await sys.read(`bus/ap/${file}`), after);
      const bound = bindingsOf(host);
      t.same(bound.filter((b) => b.endsWith('=vfio_ap')).map((b) => b.split('=')[0]), vfio.sort(), 'exactly these moved to vfio_ap');
      t.same(bound.filter((b) => !b.endsWith('=vfio_ap') && !b.endsWith('=cex4queue')), [], 'no queue left unbound');
      t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
    });
  }
});

t.test('rebinding changes the queue attribute set and the AP-bus device state (§5 note)', async (t) => {
  const { host, sys } = await setup();
  const q = qpath(5, 4);
  t.ok(sys.ls(q)?.includes('online'), 'online while bound to cex4queue');
  t.ok(sys.ls(q)?.includes('load'), 'load while bound to cex4queue');
  t.notOk(sys.ls(q)?.includes('status'));
  t.equal(await sys.read(`${q}/request_count`), '0\n');
  t.equal(await sys.read(`${q}/online`), '1\n');

  t.equal(await sys.write('bus/ap/apmask', '-5'), OK);
  t.equal(driverOf(host, 5, 4), 'vfio_ap');
  t.notOk(sys.ls(q)?.includes('online'), 'online gone with cex4queue');
  t.notOk(sys.ls(q)?.includes('load'), 'load gone with cex4queue');
  t.ok(sys.ls(q)?.includes('status'), 'status appears with vfio_ap');
  t.equal(await sys.read(`${q}/status`), 'unassigned\n');
  t.equal(await sys.read(`${q}/online`), Errno.ENOENT);
  // moved to vfio_ap by a rebind: UNINITIATED at AP-bus level (§19 item 15)
  t.equal(await sys.read(`${q}/request_count`), '-\n');
  t.equal(await sys.read(`${q}/requestq_count`), '0\n');
  t.equal(await sys.read(`${q}/pendingq_count`), '0\n');
  t.equal(await sys.read(`${q}/interrupt`), 'Interrupts disabled.\n');
  t.equal(await sys.readlink(`${q}/driver`), '../../../../bus/ap/drivers/vfio_ap');

  t.equal(await sys.write('bus/ap/apmask', '+5'), OK);
  t.equal(driverOf(host, 5, 4), 'cex4queue');
  t.ok(sys.ls(q)?.includes('online'));
  t.notOk(sys.ls(q)?.includes('status'));
  t.equal(await sys.read(`${q}/request_count`), '0\n', 'cex4queue probe initiates the queue again');
  t.equal(await sys.read(`${q}/interrupt`), 'Interrupts enabled.\n');
});

t.test('queues bound to vfio_ap at creation are OPERATING: request_count reads 0 (§5 note)', async (t) => {
  const { host, sys } = await setup({ apmask: '+0-4,+6-255' });
  t.same(adapterDrivers(host, 5), ['vfio_ap', 'vfio_ap', 'vfio_ap', 'vfio_ap']);
  t.same(adapterDrivers(host, 4), ['cex4queue', 'cex4queue', 'cex4queue', 'cex4queue']);
  t.equal(await sys.read('bus/ap/apmask'), maskOf([...Array(256).keys()].filter((i) => i !== 5)));
  t.equal(await sys.read(`${qpath(5, 4)}/request_count`), '0\n');
  t.equal(await sys.read(`${qpath(5, 4)}/status`), 'unassigned\n');
  // unbind + bind to vfio_ap again: now it reads '-'
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0004\n'), OK);
  t.equal(driverOf(host, 5, 4), '');
  t.equal(await sys.read(`${qpath(5, 4)}/request_count`), '-\n');
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/bind', '05.0004\n'), OK);
  t.equal(driverOf(host, 5, 4), 'vfio_ap');
  t.equal(await sys.read(`${qpath(5, 4)}/request_count`), '-\n');
  // §19 item 19: reset on such a queue does nothing useful and then reads "Reset in progress."
  t.equal(await sys.write(`${qpath(5, 4)}/reset`, '1'), OK);
  t.equal(await sys.read(`${qpath(5, 4)}/reset`), 'Reset in progress.\n');
  t.equal(await sys.read(`${qpath(5, 6)}/reset`), 'No Reset Timer set.\n', 'the untouched neighbour is idle');
});

t.test('a mask write with a syntax error fails with EINVAL: mask unchanged, nothing rebound, no uevent', async (t) => {
  const bad = [
    '+1 ,+2', // a space is not a separator
    '0X5', // upper-case X is not a prefix
    `0x${'f'.repeat(65)}`, // a 65th digit is left over
    '+256',
    '-0-256',
    '+5-3', // start > end
    '+', // sign without number
    '5,+6', // absolute then a term
    '+5,6', // term without a sign
    '0x5 ',
    '0x5\n\n',
    'zz',
  ];
  for (const file of ['apmask', 'aqmask'] as const) {
    for (const text of bad) {
      t.test(`${file} ${JSON.stringify(text)}`, async (t) => {
        const { host, sys } = await setup();
        await sys.write(`bus/ap/${file}`, '-6'); // a non-trivial starting point
        const before = bindingsOf(host);
        const mask = await sys.read(`bus/ap/${file}`);
        const since = host.events.lastSeq;
        t.equal(await sys.write(`bus/ap/${file}`, text), Errno.EINVAL);
        t.equal(await sys.read(`bus/ap/${file}`), mask, 'mask unchanged');
        t.same(bindingsOf(host), before, 'no queue rebound');
        t.same(uevents(host, since), [], 'no uevent');
      });
    }
  }
});

t.test('writing the current mask is a no-op: success, no rebinding, no uevent', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write('bus/ap/apmask', '-5'), OK);
  const before = bindingsOf(host);
  const since = host.events.lastSeq;
  for (const text of ['-5', '-5,-5', '+0-4,+6-255', '-0x05\n', maskOf([...Array(256).keys()].filter((i) => i !== 5))]) {
    t.equal(await sys.write('bus/ap/apmask', text), OK, JSON.stringify(text));
  }
  t.same(bindingsOf(host), before);
  t.same(uevents(host, since), []);
  t.same(host.events.entries(since), [], 'no event at all');
});

t.test('a successful mask change emits the mask uevent after rebinding (§10)', async (t) => {
  const { host, sys } = await setup();
  const since = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/aqmask', '-0x54'), OK);
  const ev = uevents(host, since);
  t.equal(ev[ev.length - 1], `change /devices/ap AQMASK=${maskOf([...Array(256).keys()].filter((i) => i !== 0x54))}`);
  t.ok(ev.indexOf('unbind /devices/ap/card04/04.0054 DRIVER=cex4queue') >= 0);
  t.ok(ev.indexOf('bind /devices/ap/card04/04.0054 DRIVER=vfio_ap') > ev.indexOf('unbind /devices/ap/card04/04.0054 DRIVER=cex4queue'));
  t.ok(ev.indexOf('bind /devices/ap/card04/04.0054 DRIVER=vfio_ap') < ev.length - 1, 'uevent comes after the rebinding');
});

t.test('clearing mask bits never asks vfio_ap (no in-use check), setting them does', async (t) => {
  const { host, sys } = await setup({ apmask: '+0-4,+6-255' });
  const mdev = await host.mdevCore.create('a297db4a-f4c2-11e6-90f6-d3b88d6c9525', 36);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${mdev.uuid}/assign_adapter`, '5'), OK);
  t.equal(await sys.write(`devices/vfio_ap/matrix/${mdev.uuid}/assign_domain`, '4'), OK);
  t.equal(await sys.write('bus/ap/apmask', '-4'), OK, 'clearing is always allowed');
  t.equal(await sys.write('bus/ap/aqmask', '-6'), OK);
  t.equal(await sys.write('bus/ap/apmask', '+5'), Errno.EBUSY, 'reserving 05.0004 held by the mdev is refused');
  t.equal(await sys.write('bus/ap/apmask', '+4'), OK, 'reserving an adapter no mdev holds is fine');
});

t.test('bind errors (drivers/base/bus.c bind_store)', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write('bus/ap/drivers/cex4queue/unbind', '05.0004'), OK);
  t.equal(driverOf(host, 5, 4), '');
  const cases: [what: string, drv: string, text: string, errno: Errno | 0][] = [
    ['unknown device', 'cex4queue', '05.0005', Errno.ENODEV],
    ['unknown card', 'cex4card', 'card07', Errno.ENODEV],
    ['garbage', 'vfio_ap', 'hello', Errno.ENODEV],
    ['upper-case hex is another name', 'cex4queue', '0B.0004', Errno.ENODEV],
    ['trailing blank does not match', 'cex4queue', '05.0004 ', Errno.ENODEV],
    ['two newlines do not match', 'cex4queue', '05.0004\n\n', Errno.ENODEV],
    ['a card to a queue driver', 'cex4queue', 'card05', Errno.ENODEV],
    ['a queue to the card driver', 'cex4card', '05.0004', Errno.ENODEV],
    ['a card to vfio_ap (queues only)', 'vfio_ap', 'card05', Errno.ENODEV],
    ['already bound to cex4queue, via cex4queue', 'cex4queue', '04.0004', Errno.EBUSY],
    ['already bound to cex4queue, via vfio_ap', 'vfio_ap', '04.0004\n', Errno.EBUSY],
    ['a bound card', 'cex4card', 'card04', Errno.EBUSY],
    ['probe gate: vfio_ap may not take a reserved queue', 'vfio_ap', '05.0004\n', Errno.ENODEV],
    ['the default driver takes the reserved queue', 'cex4queue', '05.0004\n', OK],
  ];
  for (const [what, drv, text, errno] of cases) {
    const before = bindingsOf(host);
    t.equal(await sys.write(`bus/ap/drivers/${drv}/bind`, text), errno, what);
    if (errno !== OK) t.same(bindingsOf(host), before, `${what}: nothing changed`);
  }
  t.equal(driverOf(host, 5, 4), 'cex4queue');
  t.equal(await sys.read(`${qpath(5, 4)}/request_count`), '0\n', 'cex4queue probe initiated it');
});

t.test('probe gate for the default driver: cex4queue may not take a non-reserved queue', async (t) => {
  const { host } = await setup();
  await host.bus.apmaskStore('-5');
  await host.bus.unbindStore('vfio_ap', '05.0006');
  t.equal(driverOf(host, 5, 6), '');
  await t.rejects(host.bus.bindStore('cex4queue', '05.0006'), kerr(Errno.ENODEV));
  t.equal(driverOf(host, 5, 6), '');
  await host.bus.bindStore('vfio_ap', '05.0006');
  t.equal(driverOf(host, 5, 6), 'vfio_ap');
});

t.test('unbind errors (drivers/base/bus.c unbind_store): ENODEV unless bound to that very driver', async (t) => {
  const { host, sys } = await setup({ apmask: '+0-4,+6-255' });
  t.equal(await sys.write('bus/ap/drivers/vfio_ap/unbind', '05.0047'), OK);
  const cases: [what: string, drv: string, text: string, errno: Errno | 0][] = [
    ['bound to cex4queue, unbind via vfio_ap', 'vfio_ap', '04.0004', Errno.ENODEV],
    ['bound to vfio_ap, unbind via cex4queue', 'cex4queue', '05.0004\n', Errno.ENODEV],
    ['an unbound queue', 'vfio_ap', '05.0047', Errno.ENODEV],
    ['an unknown queue', 'vfio_ap', '07.0004', Errno.ENODEV],
    ['a card via a queue driver', 'cex4queue', 'card04', Errno.ENODEV],
    ['a card via its driver', 'cex4card', 'card04\n', OK],
    ['a queue via its driver', 'cex4queue', '04.0004', OK],
  ];
  for (const [what, drv, text, errno] of cases) t.equal(await sys.write(`bus/ap/drivers/${drv}/unbind`, text), errno, what);
  t.equal(host.bus.cards.get(4)?.driver, undefined);
  t.equal(driverOf(host, 4, 4), '');
  t.notOk(sys.ls('devices/ap/card04')?.includes('online'), 'zcrypt card attributes gone with cex4card');
  t.notOk(sys.ls('devices/ap/card04')?.includes('driver'), 'no driver link while unbound');
  t.equal(await sys.read('bus/ap/bindings'), '14/16\n', 'cards are not counted; nothing rebinds by itself');
  t.notOk(sys.ls('bus/ap/drivers/cex4queue')?.includes('04.0004'));
  t.notOk(sys.ls('bus/ap/drivers/vfio_ap')?.includes('05.0047'));
});

t.test('drivers_probe: ENODEV for an unknown name, otherwise count whether or not a driver binds', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write('bus/ap/drivers_probe', '07.0004\n'), Errno.ENODEV);
  t.equal(await sys.write('bus/ap/drivers_probe', 'nonsense'), Errno.ENODEV);
  t.equal(await sys.write('bus/ap/drivers_probe', '04.0004\n'), OK, 'already bound: nothing happens');
  t.equal(driverOf(host, 4, 4), 'cex4queue');

  t.equal(await sys.write('bus/ap/drivers/cex4queue/unbind', '05.0004'), OK);
  t.equal(await sys.write('bus/ap/drivers/cex4queue/unbind', '05.0006'), OK);
  // an unbound queue is left alone by the mask write (§6 caution) ...
  t.equal(await sys.write('bus/ap/apmask', '-5'), OK);
  t.equal(driverOf(host, 5, 4), '');
  t.equal(driverOf(host, 5, 47), undefined, 'no such queue');
  t.equal(driverOf(host, 5, 0x47), 'vfio_ap', 'the bound ones moved');
  // ... and drivers_probe lets the driver that may take it bind it
  t.equal(await sys.write('bus/ap/drivers_probe', '05.0004'), OK);
  t.equal(driverOf(host, 5, 4), 'vfio_ap');
  t.equal(await sys.read('bus/ap/bindings'), '15/16\n');
  t.equal(await sys.write('bus/ap/drivers_probe', 'card05\n'), OK, 'a bound card: count, nothing happens');
  t.equal(await sys.write('bus/ap/drivers_probe', '05.0006'), OK);
  t.equal(driverOf(host, 5, 6), 'vfio_ap');
  t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
});

t.test('drivers_autoprobe reads 1; a leading 0 clears it, anything else sets it', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.read('bus/ap/drivers_autoprobe'), '1\n');
  for (const [text, after] of [['0', '0\n'], ['yes', '1\n'], ['0abc\n', '0\n'], ['x', '1\n']] as const) {
    t.equal(await sys.write('bus/ap/drivers_autoprobe', text), OK);
    t.equal(await sys.read('bus/ap/drivers_autoprobe'), after, JSON.stringify(text));
  }
  t.equal(host.bus.drivers_autoprobe, true);
});

t.test('ap_domain: sscanf("%i") leniency, range and aqmask checks', async (t) => {
  // [written, errno, read afterwards]
  const cases: [text: string, errno: Errno | 0, after: string][] = [
    ['6', OK, '6\n'],
    ['0x47\n', OK, '71\n'],
    ['010', OK, '8\n'], // leading 0: octal
    ['  0x54', OK, '84\n'], // leading blanks skipped
    ['6abc', OK, '6\n'], // trailing garbage ignored
    ['6 7', OK, '6\n'],
    ['08', OK, '0\n'], // octal: the 8 is left over and ignored
    ['+6', Errno.EINVAL, '4\n'], // vsscanf takes no '+'
    ['-1', Errno.EINVAL, '4\n'],
    ['85', Errno.EINVAL, '4\n'], // > ap_max_domain_id (84)
    ['0x55', Errno.EINVAL, '4\n'],
    ['abc', Errno.EINVAL, '4\n'],
    ['\n', Errno.EINVAL, '4\n'],
  ];
  for (const [text, errno, after] of cases) {
    t.test(JSON.stringify(text), async (t) => {
      const { sys } = await setup();
      t.equal(await sys.read('bus/ap/ap_domain'), '4\n');
      t.equal(await sys.write('bus/ap/ap_domain', text), errno);
      t.equal(await sys.read('bus/ap/ap_domain'), after);
    });
  }
  t.test('a domain whose aqmask bit is clear is refused', async (t) => {
    const { host, sys } = await setup();
    t.equal(await sys.write('bus/ap/aqmask', '-6'), OK);
    t.equal(await sys.write('bus/ap/ap_domain', '6'), Errno.EINVAL);
    await t.rejects(host.bus.apDomainStore(() => 6), kerr(Errno.EINVAL));
    await t.rejects(host.bus.apDomainStore(() => undefined), kerr(Errno.EINVAL));
    t.equal(await sys.read('bus/ap/ap_domain'), '4\n');
    t.equal(await sys.write('bus/ap/ap_domain', '0'), OK, 'a domain the host has not got is fine if aqmask allows it');
    t.equal(await sys.read('bus/ap/ap_domain'), '0\n');
  });
  t.test('without APXA the limit is 15', async (t) => {
    const { sys } = await setup({ apxa: false, features: ['APSC', 'QACT', 'RC8A'], maxAdapterId: undefined, maxDomainId: undefined, usageDomains: ['0x0004', '0x0006'], controlDomains: ['0x0004'] });
    t.equal(await sys.read('bus/ap/ap_max_domain_id'), '15\n');
    t.equal(await sys.read('bus/ap/ap_max_adapter_id'), '63\n');
    t.equal(await sys.write('bus/ap/ap_domain', '15'), OK);
    t.equal(await sys.write('bus/ap/ap_domain', '16'), Errno.EINVAL);
  });
});

t.test('config_time: sscanf("%d"), 5..120', async (t) => {
  const cases: [text: string, errno: Errno | 0, after: string][] = [
    ['5', OK, '5\n'],
    ['120\n', OK, '120\n'],
    [' 60x', OK, '60\n'],
    ['010', OK, '10\n'], // %d is decimal: the leading 0 means nothing
    ['0x10', Errno.EINVAL, '30\n'], // %d reads 0, which is out of range
    ['4', Errno.EINVAL, '30\n'],
    ['121', Errno.EINVAL, '30\n'],
    ['+60', Errno.EINVAL, '30\n'],
    ['-60', Errno.EINVAL, '30\n'],
    ['x', Errno.EINVAL, '30\n'],
  ];
  for (const [text, errno, after] of cases) {
    const { sys } = await setup();
    t.equal(await sys.write('bus/ap/config_time', text), errno, JSON.stringify(text));
    t.equal(await sys.read('bus/ap/config_time'), after, `${JSON.stringify(text)} → ${JSON.stringify(after)}`);
  }
});

t.test('poll_thread: kstrtobool; starting it is a no-op while interrupts are in use', async (t) => {
  const { sys } = await setup();
  t.equal(await sys.read('bus/ap/ap_interrupts'), '1\n');
  for (const text of ['1', 'y', 'on\n', 'Yes']) {
    t.equal(await sys.write('bus/ap/poll_thread', text), OK, JSON.stringify(text));
    t.equal(await sys.read('bus/ap/poll_thread'), '0\n', 'no thread with interrupts');
  }
  for (const text of ['x', '', '2', 'o']) {
    if (text === '') continue; // a zero-length write never reaches store
    t.equal(await sys.write('bus/ap/poll_thread', text), Errno.EINVAL, JSON.stringify(text));
  }
  const noirq = await setup({ interrupts: false });
  t.equal(await noirq.sys.read('bus/ap/ap_interrupts'), '0\n');
  const seq: [string, string][] = [['1\n', '1\n'], ['n', '0\n'], ['ON', '1\n'], ['off', '0\n'], ['t', '1\n'], ['0', '0\n']];
  for (const [text, after] of seq) {
    t.equal(await noirq.sys.write('bus/ap/poll_thread', text), OK);
    t.equal(await noirq.sys.read('bus/ap/poll_thread'), after, JSON.stringify(text));
  }
});

t.test('poll_timeout: kstrtoul(base 0), at most 120 s', async (t) => {
  const cases: [text: string, errno: Errno | 0, after: string][] = [
    ['120000000000', OK, '120000000000\n'],
    ['0x10\n', OK, '16\n'],
    ['010', OK, '8\n'],
    ['+5', OK, '5\n'],
    ['0', OK, '0\n'],
    ['120000000001', Errno.EINVAL, '250000\n'],
    ['18446744073709551615', Errno.EINVAL, '250000\n'],
    ['18446744073709551616', Errno.ERANGE, '250000\n'],
    ['-1', Errno.EINVAL, '250000\n'],
    [' 5', Errno.EINVAL, '250000\n'],
    ['5 ', Errno.EINVAL, '250000\n'],
    ['abc', Errno.EINVAL, '250000\n'],
  ];
  for (const [text, errno, after] of cases) {
    const { sys } = await setup();
    t.equal(await sys.write('bus/ap/poll_timeout', text), errno, JSON.stringify(text));
    t.equal(await sys.read('bus/ap/poll_timeout'), after);
  }
});

t.test('read-only bus attributes', async (t) => {
  const { sys } = await setup();
  t.equal(await sys.read('bus/ap/ap_max_domain_id'), '84\n');
  t.equal(await sys.read('bus/ap/ap_max_adapter_id'), '255\n');
  t.equal(await sys.read('bus/ap/ap_adapter_mask'), maskOf(ADAPTERS));
  t.equal(await sys.read('bus/ap/ap_usage_domain_mask'), maskOf(DOMAINS));
  t.equal(await sys.read('bus/ap/ap_control_domain_mask'), maskOf([1, ...DOMAINS]));
  t.equal(await sys.read('bus/ap/features'), 'APSC APXA QACT RC8A\n');
  t.equal(await sys.read('bus/ap/config_time'), '30\n');
  t.equal(await sys.read('bus/ap/poll_timeout'), '250000\n');
  t.equal(await sys.read('bus/ap/poll_thread'), '0\n');
  const noqci = await setup({ qci: false, apxa: false, features: [], maxAdapterId: undefined, maxDomainId: undefined, usageDomains: ['0x0004'], controlDomains: [] });
  t.equal(await noqci.sys.read('bus/ap/ap_adapter_mask'), 'not supported\n');
  t.equal(await noqci.sys.read('bus/ap/features'), '-\n');
  t.equal(await noqci.sys.read('bus/ap/bindings'), '0/0 (complete)\n');
  const nofeat = await setup({ apxa: false, features: [], maxAdapterId: undefined, maxDomainId: undefined, usageDomains: ['0x0004'], controlDomains: [] });
  t.equal(await nofeat.sys.read('bus/ap/features'), '', '§2 quirk: QCI without any of the five bits reads 0 bytes');
});

t.test('card config and zcrypt online writes (§4, §5 zcrypt_queue)', async (t) => {
  const { sys } = await setup();
  const card = 'devices/ap/card04';
  const q = `${card}/04.0004`;
  const steps: [path: string, text: string, errno: Errno | 0][] = [
    [`${card}/config`, '2', Errno.EINVAL],
    [`${card}/config`, 'x', Errno.EINVAL],
    [`${card}/online`, '2', Errno.EINVAL],
    [`${q}/online`, '-1', Errno.EINVAL],
    [`${card}/online`, '0\n', OK],
    [`${q}/online`, '1', Errno.EINVAL], // the card is offline
    [`${card}/online`, '1', OK],
    [`${q}/online`, '0', OK],
    [`${q}/online`, '1', OK],
    [`${card}/config`, '0', OK],
    [`${card}/online`, '1', Errno.ENODEV], // not configured
    [`${q}/online`, '1', Errno.ENODEV],
    [`${card}/config`, ' 1', OK],
  ];
  for (const [path, text, errno] of steps) t.equal(await sys.write(path, text), errno, `${path} <- ${JSON.stringify(text)}`);
  t.equal(await sys.read(`${card}/config`), '1\n');
  t.equal(await sys.read(`${card}/online`), '1\n');
  t.equal(await sys.write(`${card}/online`, '0'), OK);
  t.equal(await sys.read(`${q}/online`), '0\n', 'card offline propagates to its queues');
  t.equal(await sys.read(`devices/ap/card05/05.0004/online`), '1\n', 'other cards untouched');
});

t.test('bindings counts queues only; (complete) needs every queue bound', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.write('bus/ap/drivers/cex4card/unbind', 'card0b'), OK);
  t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n', 'an unbound card does not count');
  for (const [i, d] of DOMAINS.entries()) {
    t.equal(await sys.write('bus/ap/drivers/cex4queue/unbind', qname(0xb, d)), OK);
    t.equal(await sys.read('bus/ap/bindings'), `${15 - i}/16\n`);
  }
  const since = host.events.lastSeq;
  for (const d of DOMAINS) t.equal(await sys.write('bus/ap/drivers/cex4queue/bind', `${qname(0xb, d)}\n`), OK);
  t.equal(await sys.read('bus/ap/bindings'), '16/16 (complete)\n');
  t.same(uevents(host, since).filter((e) => e.includes('BINDINGS')), ['change /devices/ap BINDINGS=complete'], 'BINDINGS=complete fired again once');
});

t.test('scans: every write runs one synchronous scan and never fails', async (t) => {
  const { host, sys } = await setup();
  t.equal(await sys.read('bus/ap/scans'), '1\n');
  for (const [i, text] of ['1', 'anything at all\n', 'x'].entries()) {
    t.equal(await sys.write('bus/ap/scans', text), OK);
    t.equal(await sys.read('bus/ap/scans'), `${i + 2}\n`);
  }
  t.same(bindingsOf(host).length, 16, 'an unchanged configuration adds or removes nothing');

  // The SE takes adapter 0x0b out of the LPAR's configuration: the next scan removes its devices.
  host.hw.adapters.delete(0x0b);
  const since = host.events.lastSeq;
  t.equal(await sys.write('bus/ap/scans', '1'), OK);
  t.equal(await sys.read('bus/ap/scans'), '5\n');
  t.notOk(sys.ls('devices/ap')?.includes('card0b'));
  t.notOk(sys.ls('bus/ap/devices')?.includes('0b.0004'));
  t.equal(await sys.read('bus/ap/bindings'), '12/12 (complete)\n');
  t.equal(await sys.read('bus/ap/ap_adapter_mask'), maskOf([4, 5, 6]));
  t.ok(uevents(host, since).includes('remove /devices/ap/card0b/0b.0054'));
  t.ok(uevents(host, since).includes('remove /devices/ap/card0b'));
});

t.test('every bus verb stays in its task: errnoOf helper works on the model directly', async (t) => {
  const { host } = await setup();
  t.equal(await errnoOf(host.bus.apmaskStore('+1 ,+2')), Errno.EINVAL);
  t.equal(await errnoOf(host.bus.aqmaskStore('-4')), OK);
  t.equal(await errnoOf(host.bus.bindStore('nosuchdriver', '04.0004')), Errno.ENODEV);
  t.equal(await errnoOf(host.bus.unbindStore('nosuchdriver', '04.0004')), Errno.ENODEV);
  t.equal(await errnoOf(() => host.bus.configTimeStore(undefined)), Errno.EINVAL);
  t.equal(await errnoOf(() => host.bus.pollTimeoutStore(120000000001)), Errno.EINVAL);
});

noLockdepReports(t);
