/**
 * The stress runner's operations: every state-changing thing a user, QEMU or the SE/HMC does to
 * the AP bus and vfio_ap, as concrete data (a write of a text to a sysfs file, or a control-channel
 * request). Concrete means independent of the state: an op names an mdev by one of a few fixed
 * UUIDs, so the same seed gives the same ops whatever the state turns out to be, and any sequence
 * can be replayed (src/stress/minimise.ts). Ops that do not fit the state fail with the kernel's
 * errno, which is part of what is being tested.
 */
import { ApMask } from '../model/ap/ap-mask.js';
import { mkqid, queueName } from '../model/ap/apqn.js';
import type { Topology } from '../model/topology.js';
import { defaultTopology } from '../model/default-topology.js';
import { Rng } from './rng.js';

/** What the summary counts per kind. */
export const OP_KINDS = [
  'apmask hex', 'apmask +/-', 'aqmask hex', 'aqmask +/-',
  'create', 'remove',
  'assign_adapter', 'unassign_adapter', 'assign_domain', 'unassign_domain', 'assign_control_domain', 'unassign_control_domain',
  'ap_config',
  'bind cex4queue', 'unbind cex4queue', 'bind vfio_ap', 'unbind vfio_ap',
  'guest attach', 'guest detach',
  'host adapter add', 'host adapter remove', 'host domain add', 'host domain remove', 'host control-domain add', 'host control-domain remove',
] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** One write(2) of `data` to the sysfs file `path` (relative to the mount's root). */
export interface WriteOp {
  readonly type: 'write';
  readonly kind: OpKind;
  readonly path: string;
  readonly data: string;
}

/** One control-channel request. */
export interface CtlOp {
  readonly type: 'ctl';
  readonly kind: OpKind;
  readonly method: 'guest.attach' | 'guest.detach' | 'host.change';
  readonly params: Readonly<Record<string, string | number>>;
}

export type Op = WriteOp | CtlOp;

/** The mdevs the ops name. Few, so that operations meet on the same ones. */
export const UUIDS = [
  'a297db4a-f4c2-11e6-90f6-d3b88d6c9525',
  '62177883-f1bb-47f0-914d-32a22e3a8804',
  'c5d0a1e4-2b7e-4d43-9a51-0d6f3b1e7a20',
  '0b9f3e2c-5d41-4a8e-b7c6-1e2f3a4b5c6d',
] as const;
/** Fewer guests than mdevs: a guest that already has an mdev is refused another (EPERM). */
export const GUESTS = ['vm0', 'vm1', 'vm2'] as const;

const MDEV_DIR = 'devices/vfio_ap/matrix';
const CREATE = `${MDEV_DIR}/mdev_supported_types/vfio_ap-passthrough/create`;

/** The ids the ops choose from: the machine's own plus a few it does not have. */
export interface OpSpace {
  readonly adapters: readonly number[];
  readonly domains: readonly number[];
  readonly controlDomains: readonly number[];
  /** Queue names of the machine at start. */
  readonly queues: readonly string[];
  /** Above apm_max / aqm_max: ENODEV for the assign files. */
  readonly tooBigAdapter: number;
  readonly tooBigDomain: number;
  readonly maxDomainId: number;
}

/** Ids near the machine's that it has not got (over-provisioning, host adapter add). */
function extras(have: readonly number[], max: number, n: number): number[] {
  const out: number[] = [];
  for (let id = 1; id <= max && out.length < n; id += 3) if (!have.includes(id)) out.push(id);
  return out;
}

export function opSpace(t: Topology = defaultTopology): OpSpace {
  const have = t.adapters.map((a) => a.id).slice(0, 8);
  const doms = t.usageDomains.slice(0, 8);
  return {
    adapters: [...have, ...extras(have, t.maxAdapterId, 2)],
    domains: [...doms, ...extras(doms, t.maxDomainId, 2)],
    controlDomains: [...t.controlDomains.slice(0, 6), ...extras(t.controlDomains, t.maxDomainId, 1)],
    queues: have.flatMap((a) => doms.map((q) => queueName(mkqid(a, q)))),
    tooBigAdapter: t.maxAdapterId + 1,
    tooBigDomain: t.maxDomainId + 1,
    maxDomainId: t.maxDomainId,
  };
}

const WEIGHTS: Record<OpKind, number> = {
  'apmask hex': 2, 'apmask +/-': 4, 'aqmask hex': 2, 'aqmask +/-': 4,
  create: 7, remove: 4,
  assign_adapter: 8, unassign_adapter: 4, assign_domain: 8, unassign_domain: 4, assign_control_domain: 4, unassign_control_domain: 2,
  ap_config: 5,
  'bind cex4queue': 3, 'unbind cex4queue': 3, 'bind vfio_ap': 4, 'unbind vfio_ap': 4,
  'guest attach': 7, 'guest detach': 4,
  'host adapter add': 2, 'host adapter remove': 2, 'host domain add': 2, 'host domain remove': 2, 'host control-domain add': 1, 'host control-domain remove': 1,
};

/** A number as the assign files take it (kstrtoul base 0): decimal, hex, octal, sometimes a newline. */
function numberText(rng: Rng, n: number): string {
  const form = rng.int(10);
  const text = form < 5 ? String(n) : form < 8 ? `0x${n.toString(16)}` : n === 0 ? '0' : `0${n.toString(8)}`;
  return rng.chance(0.5) ? `${text}\n` : text;
}

/** 64 hex digits, leftmost bit = id 0 (the absolute mask syntax, §3). */
const hex64 = (m: ApMask): string => m.toString();

/** A mask edit: the ids of `pool` cleared more often than set, so that vfio_ap gets queues. */
function maskText(rng: Rng, pool: readonly number[], hex: boolean): string {
  if (hex) {
    // Everything outside the pool reserved, as an administrator's mask usually is.
    const m = ApMask.full();
    for (const id of pool) if (rng.chance(0.55)) m.clear(id);
    const text = hex64(m);
    return rng.chance(0.3) ? `${text}\n` : text;
  }
  if (rng.chance(0.04)) return rng.pick(['+0-255', '-0-255']);
  const terms: string[] = [];
  const n = rng.chance(0.25) ? 2 : 1;
  for (let i = 0; i < n; i++) {
    const id = rng.pick(pool);
    const sign = rng.chance(0.6) ? '-' : '+';
    terms.push(`${sign}${rng.chance(0.3) ? `0x${id.toString(16)}` : id}`);
  }
  return terms.join(',');
}

/** An mdev's assignment id: mostly from the pool, sometimes beyond the mdev's limit or not a number. */
function assignId(rng: Rng, pool: readonly number[], tooBig: number): string {
  if (rng.chance(0.03)) return rng.pick([String(tooBig), 'x5', '-1', '5 ']);
  return numberText(rng, rng.pick(pool));
}

function apConfigText(rng: Rng, s: OpSpace): string {
  const pick = (pool: readonly number[]) => ApMask.fromIds(rng.subset(pool, 0.35));
  const text = [pick(s.adapters), pick(s.domains), pick(s.controlDomains)].map(hex64).join(',');
  return rng.chance(0.03) ? text.slice(0, 70) : `${text}\n`;
}

function op(rng: Rng, s: OpSpace): Op {
  const kind = rng.weighted(WEIGHTS);
  const uuid = rng.pick(UUIDS);
  const mdev = `${MDEV_DIR}/${uuid}`;
  const write = (path: string, data: string): WriteOp => ({ type: 'write', kind, path, data });
  const host = (resource: string, action: string, id: number, type?: string): CtlOp => ({
    type: 'ctl',
    kind,
    method: 'host.change',
    params: { resource, action, id, ...(type !== undefined && { type }) },
  });
  switch (kind) {
    case 'apmask hex':
    case 'apmask +/-':
      return write('bus/ap/apmask', maskText(rng, s.adapters, kind === 'apmask hex'));
    case 'aqmask hex':
    case 'aqmask +/-':
      return write('bus/ap/aqmask', maskText(rng, s.domains, kind === 'aqmask hex'));
    case 'create':
      return write(CREATE, rng.chance(0.5) ? `${uuid}\n` : uuid);
    case 'remove':
      return write(`${mdev}/remove`, rng.chance(0.95) ? '1\n' : '0');
    case 'assign_adapter':
    case 'unassign_adapter':
      return write(`${mdev}/${kind}`, assignId(rng, s.adapters, s.tooBigAdapter));
    case 'assign_domain':
    case 'unassign_domain':
      return write(`${mdev}/${kind}`, assignId(rng, s.domains, s.tooBigDomain));
    case 'assign_control_domain':
    case 'unassign_control_domain':
      return write(`${mdev}/${kind}`, assignId(rng, s.controlDomains, s.tooBigDomain));
    case 'ap_config':
      return write(`${mdev}/ap_config`, apConfigText(rng, s));
    case 'bind cex4queue':
    case 'unbind cex4queue':
    case 'bind vfio_ap':
    case 'unbind vfio_ap': {
      const [verb, driver] = kind.split(' ') as [string, string];
      const queue = rng.chance(0.03) ? '07.0003' : rng.pick(s.queues);
      return write(`bus/ap/drivers/${driver}/${verb}`, rng.chance(0.5) ? `${queue}\n` : queue);
    }
    case 'guest attach':
      return { type: 'ctl', kind, method: 'guest.attach', params: { uuid, guest: rng.pick(GUESTS) } };
    case 'guest detach':
      return { type: 'ctl', kind, method: 'guest.detach', params: { uuid } };
    case 'host adapter add':
      return host('adapter', 'add', rng.pick(s.adapters), rng.chance(0.3) ? rng.pick(['CEX8C', 'CEX7A', 'CEX6P']) : undefined);
    case 'host adapter remove':
      return host('adapter', 'remove', rng.pick(s.adapters));
    case 'host domain add':
    case 'host domain remove':
      return host('domain', kind.endsWith('add') ? 'add' : 'remove', rng.pick(s.domains));
    case 'host control-domain add':
    case 'host control-domain remove':
      return host('control-domain', kind.endsWith('add') ? 'add' : 'remove', rng.pick(s.controlDomains));
  }
}

/** An endless, reproducible stream of ops for one client. */
export class OpStream {
  private readonly rng: Rng;

  constructor(
    seed: string | number,
    client: number,
    private readonly space: OpSpace = opSpace(),
  ) {
    this.rng = new Rng(`apsysfs-stress:${seed}:${client}`);
  }

  next(): Op {
    return op(this.rng, this.space);
  }

  take(n: number): Op[] {
    return Array.from({ length: n }, () => this.next());
  }
}

export function generateOps(o: { seed: string | number; client: number; count: number; space?: OpSpace }): Op[] {
  return new OpStream(o.seed, o.client, o.space).take(o.count);
}

/** A shell line that does the same to a mount at $SYS. */
export function describe(op: Op): string {
  if (op.type === 'write') return `printf '%s' ${shellQuote(op.data)} > "$SYS/${op.path}"`;
  const p = op.params;
  const args =
    op.method === 'host.change'
      ? ['host', String(p.resource), String(p.action), `0x${Number(p.id).toString(16)}`, ...(p.type !== undefined ? ['--type', String(p.type)] : [])]
      : op.method === 'guest.attach'
        ? ['guest', 'attach', String(p.uuid), '--guest', String(p.guest)]
        : ['guest', 'detach', String(p.uuid)];
  return `apsysfs ctl --mount "$SYS" ${args.join(' ')}`;
}

function shellQuote(s: string): string {
  if (s.includes('\n')) return `$'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
