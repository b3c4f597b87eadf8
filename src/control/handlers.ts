/**
 * What each control method does to the host: check the request's parameters, call one model verb
 * (or read the model), and shape the answer. The socket and its framing are server.ts's job.
 */
import { Errno, KernelError } from '../model/errno.js';
import type { Host } from '../model/host.js';
import { ApMask } from '../model/ap/ap-mask.js';
import type { EventKind } from '../model/events.js';
import { matrixIds, type MatrixMdev } from '../model/vfio_ap/matrix-mdev.js';
import { adapterAdd, adapterRemove, controlDomainAdd, controlDomainRemove, domainAdd, domainRemove, type ConfigChange } from '../model/host-config.js';
import { matrixPicture } from '../model/matrix-picture.js';
import { captureTopology } from '../model/state.js';
import { snapshotState } from '../model/state-snapshot.js';
import { serializeTopology } from '../model/topology.js';
import { guestPqap, guestPv, scenarioList, scenarioRun } from './scenarios.js';
import { EVENT_KINDS, HOST_RESOURCES, METHODS, PROTOCOL_VERSION, type GuestInfo, type HostAction, type HostChangeResult, type HostResource, type Method, type Result } from './protocol.js';

/** A request the daemon cannot make sense of (wrong shape, unknown method): errno EPROTO. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export interface HandlerContext {
  readonly host: Host;
  readonly mountDir: string;
  readonly socket: string;
  readonly startedAt: number;
}

type Handler<M extends Method> = (ctx: HandlerContext, params: Record<string, unknown>) => Promise<Result<M>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function str(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (typeof v !== 'string') throw new ProtocolError(`'${key}' must be a string`);
  return v;
}

function optional<T>(params: Record<string, unknown>, key: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (!check(v)) throw new ProtocolError(`'${key}' must be ${what}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isIdList = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 0 && n <= 255);
const isKinds = (v: unknown): v is EventKind[] => Array.isArray(v) && v.every((k) => (EVENT_KINDS as readonly unknown[]).includes(k));

function mdevOf(host: Host, params: Record<string, unknown>): MatrixMdev {
  const uuid = str(params, 'uuid');
  if (!UUID.test(uuid)) throw new KernelError(Errno.EINVAL, `${JSON.stringify(uuid)} is not a UUID`);
  const mdev = host.mdev(uuid);
  if (!mdev) throw new KernelError(Errno.ENODEV, `no mdev ${uuid.toLowerCase()}`);
  return mdev;
}


export function guestInfo(mdev: MatrixMdev): GuestInfo {
  const kvm = mdev.kvm;
  return {
    uuid: mdev.uuid,
    guest: kvm?.name ?? null,
    apcb: kvm ? matrixIds(kvm.apcb) : null,
    apcbUpdates: kvm ? kvm.apcbUpdates : null,
    matrix: matrixIds(mdev.matrix),
    guestMatrix: matrixIds(mdev.shadowApcb),
  };
}

/** The guest name an attach uses when none is given: one guest per mdev, named after it. */
export const defaultGuestName = (uuid: string): string => `guest-${uuid.toLowerCase().slice(0, 8)}`;

function hostChangeResult(c: ConfigChange): HostChangeResult {
  return { ...c, guestsUpdated: c.guestsUpdated.map((g) => ({ guest: g.guest, mdev: g.mdev ?? null, apcb: matrixIds(g) })) };
}

const domainVerbs = {
  domain: { add: domainAdd, remove: domainRemove },
  'control-domain': { add: controlDomainAdd, remove: controlDomainRemove },
} as const;

function hostChange(host: Host, resource: HostResource, action: HostAction, id: number, type: string | undefined): Promise<ConfigChange> {
  if (resource === 'adapter') return action === 'add' ? adapterAdd(host, id, type !== undefined ? { type } : {}) : adapterRemove(host, id);
  return domainVerbs[resource][action](host, id);
}

/** Log a control operation and its outcome in the event log, as the sysfs front end logs writes. */
async function logged<T>(host: Host, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    const r = await fn();
    host.events.add('op', 'info', `ctl ${what}: ok`);
    return r;
  } catch (e) {
    const why = e instanceof KernelError ? e.message : String(e);
    host.events.add('op', 'warn', `ctl ${what}: ${why}`);
    throw e;
  }
}

const handlers: { [M in Method]: Handler<M> } = {
  async status(ctx) {
    const { host } = ctx;
    const { bound, total } = host.bus.bindingCounts();
    const qci = host.bus.qci;
    return {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      mountDir: ctx.mountDir,
      socket: ctx.socket,
      kernel: host.k.profile,
      uptimeMs: Date.now() - ctx.startedAt,
      config: { adapters: qci.apm.count(), usageDomains: qci.aqm.count(), controlDomains: qci.adm.count() },
      devices: { cards: host.bus.cards.size, queues: total, bound },
      mdevs: host.matrixDev.mdevList.length,
      guests: host.matrixDev.mdevList.filter((m) => m.kvm).map((m) => ({ guest: m.kvm!.name, mdev: m.uuid })),
      events: host.events.lastSeq,
      lockdepReports: host.lockdep.reports.length,
      ...(host.k.scenario && { scenario: host.k.scenario.name }),
    };
  },

  async 'guest.attach'({ host }, params) {
    const mdev = mdevOf(host, params);
    const guest = optional(params, 'guest', isString, 'a string') ?? defaultGuestName(mdev.uuid);
    if (!GUEST_NAME.test(guest)) throw new KernelError(Errno.EINVAL, `${JSON.stringify(guest)} is not a guest name (letters, digits and ._:-, at most 64)`);
    await logged(host, `guest attach ${mdev.uuid} ${guest}`, () => host.attachGuest(mdev.uuid, guest));
    return guestInfo(mdev);
  },

  async 'guest.detach'({ host }, params) {
    const mdev = mdevOf(host, params);
    await logged(host, `guest detach ${mdev.uuid}`, () => host.detachGuest(mdev.uuid));
    return guestInfo(mdev);
  },

  async 'guest.show'({ host }, params) {
    return guestInfo(mdevOf(host, params));
  },

  async 'guest.list'({ host }) {
    return [...host.kvms.values()].map((kvm) => ({
      guest: kvm.name,
      mdev: host.matrixDev.mdevList.find((m) => m.kvm === kvm)?.uuid ?? null,
      apcb: matrixIds(kvm.apcb),
      apcbUpdates: kvm.apcbUpdates,
    }));
  },

  async 'guest.pqap'({ host }, params) {
    const guest = str(params, 'guest');
    const apqn = str(params, 'apqn');
    const vcpu = optional(params, 'vcpu', isCount, 'a vCPU number');
    return logged(host, `guest pqap ${guest} ${apqn}${vcpu === undefined ? '' : ` --vcpu ${vcpu}`}`, () => guestPqap(host, guest, apqn, vcpu));
  },

  async 'guest.pv'({ host }, params) {
    const guest = str(params, 'guest');
    return logged(host, `guest pv ${guest}`, () => guestPv(host, guest));
  },

  async 'host.change'({ host }, params) {
    const resource = str(params, 'resource');
    const action = str(params, 'action');
    if (!(HOST_RESOURCES as readonly string[]).includes(resource)) throw new ProtocolError(`'resource' must be ${HOST_RESOURCES.join(', ')}`);
    if (action !== 'add' && action !== 'remove') throw new ProtocolError(`'action' must be add or remove`);
    const id = params.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new ProtocolError(`'id' must be an integer`);
    const type = optional(params, 'type', isString, 'a string');
    if (type !== undefined && (resource !== 'adapter' || action !== 'add')) throw new ProtocolError(`'type' is only for adapter add`);
    const what = `host ${resource} ${action} ${id}${type !== undefined ? ` --type ${type}` : ''}`;
    const change = await logged(host, what, () => hostChange(host, resource as HostResource, action, id, type));
    return hostChangeResult(change);
  },

  async log({ host }, params) {
    const since = optional(params, 'since', isCount, 'a count') ?? 0;
    optional(params, 'follow', isBool, 'a boolean');
    const kinds = optional(params, 'kinds', isKinds, `a list of ${EVENT_KINDS.join(', ')}`);
    const all = host.events.entries(since);
    const first = host.events.entries()[0]?.seq ?? 0;
    return { first, last: host.events.lastSeq, entries: kinds ? all.filter((e) => kinds.includes(e.kind)) : all };
  },

  async locks({ host }) {
    return { text: host.lockdep.summary(), reports: host.lockdep.reports.length, state: host.lockdep.toJSON() };
  },

  async 'scenario.list'() {
    return scenarioList();
  },

  async 'scenario.run'(_ctx, params) {
    const name = str(params, 'name');
    const design = optional(params, 'design', (v): v is 'flawed' | 'fixed' => v === 'flawed' || v === 'fixed', 'flawed or fixed') ?? 'flawed';
    const kernel = optional(params, 'kernel', (v): v is 'trylock' | 'mainline' => v === 'trylock' || v === 'mainline', 'trylock or mainline');
    return scenarioRun(name, design, kernel);
  },

  async show({ host }, params) {
    const adapters = optional(params, 'adapters', isIdList, 'a list of ids 0..255');
    const domains = optional(params, 'domains', isIdList, 'a list of ids 0..255');
    return matrixPicture(host, {
      ...(adapters && { adapters: ApMask.fromIds(adapters) }),
      ...(domains && { domains: ApMask.fromIds(domains) }),
    });
  },

  // Both read the model in one synchronous pass: one consistent moment, whatever else is running.
  async save({ host }) {
    return serializeTopology(captureTopology(host)) as Record<string, unknown>;
  },

  async dump({ host }) {
    return snapshotState(host);
  },
};

/** Run one request. Throws ProtocolError for a malformed one, KernelError for what the model refuses. */
export async function handle(ctx: HandlerContext, method: unknown, params: unknown): Promise<unknown> {
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) throw new ProtocolError(`unknown method ${JSON.stringify(method)}`);
  const p = params ?? {};
  if (typeof p !== 'object' || Array.isArray(p)) throw new ProtocolError(`'params' must be an object`);
  const h = handlers[method as Method] as Handler<Method>;
  return h(ctx, p as Record<string, unknown>);
}
