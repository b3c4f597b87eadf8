/**
 * The text `apsysfs ctl` prints for each answer. Pure string building; --json prints the answers
 * themselves instead.
 */
import type { LogEvent } from '../model/events.js';
import type { ApqnState, MatrixPicture, PictureCell } from '../model/matrix-picture.js';
import type { GuestInfo, GuestListEntry, HostChangeResult, Ids, LocksResult, PqapResult, ScenarioRunResult, StatusResult } from './protocol.js';

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Runs of consecutive ids: `04-07,0b` (width hex digits each). */
export function idRuns(ids: readonly number[], width: number): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? hex(ids[i]!, width) : `${hex(ids[i]!, width)}-${hex(ids[j]!, width)}`);
    i = j + 1;
  }
  return out.join(',');
}

const list = (ids: readonly number[], width: number): string => (ids.length ? idRuns(ids, width) : 'none');

function idsLines(ids: Ids, indent: string): string[] {
  return [
    `${indent}adapters         ${list(ids.adapters, 2)}`,
    `${indent}domains          ${list(ids.domains, 4)}`,
    `${indent}control domains  ${list(ids.controlDomains, 4)}`,
  ];
}

const idsInline = (ids: Ids): string =>
  `adapters ${list(ids.adapters, 2)}; domains ${list(ids.domains, 4)}; control domains ${list(ids.controlDomains, 4)}`;

// ---- guest --------------------------------------------------------------------------------

export function renderGuest(g: GuestInfo): string {
  if (g.guest === null || g.apcb === null) {
    return [`mdev ${g.uuid}: no guest attached`, `guest_matrix (what an attach would give the guest):`, ...idsLines(g.guestMatrix, '  ')].join('\n') + '\n';
  }
  return [`mdev ${g.uuid}: guest ${g.guest} (APCB written ${plural(g.apcbUpdates ?? 0, 'time')})`, `APCB:`, ...idsLines(g.apcb, '  ')].join('\n') + '\n';
}

export function renderGuestList(guests: readonly GuestListEntry[]): string {
  if (guests.length === 0) return 'no guests\n';
  const w = Math.max(5, ...guests.map((g) => g.guest.length));
  const lines = [`${'GUEST'.padEnd(w)}  ${'MDEV'.padEnd(36)}  APCB`];
  for (const g of guests) lines.push(`${g.guest.padEnd(w)}  ${(g.mdev ?? '-').padEnd(36)}  ${g.mdev ? idsInline(g.apcb) : '-'}`);
  return lines.join('\n') + '\n';
}

const AP_RESPONSES: Record<number, string> = { 0x00: 'normal', 0x01: 'queue not available' };

export function renderPqap(r: PqapResult): string {
  const code = `0x${hex(r.response, 2)}`;
  return `guest ${r.guest} vCPU ${r.vcpu}: PQAP(AQIC) ${r.apqn} -> response code ${code} (${AP_RESPONSES[r.response] ?? 'unknown'})\n`;
}

export const renderPv = (r: { guest: string }): string => `guest ${r.guest}: KVM_S390_PV_COMMAND done (kvm->lock, then every vCPU's mutex)\n`;

// ---- scenarios ----------------------------------------------------------------------------

/** The run's account (answers, then every lockdep report), and how to see the other design. */
export function renderScenarioRun(r: ScenarioRunResult): string {
  const other =
    r.design === 'flawed'
      ? `the shipped design: apsysfs ctl scenario run ${r.scenario} --design fixed [--kernel trylock|mainline]`
      : `the flawed ordering: apsysfs ctl scenario run ${r.scenario} --design flawed`;
  return `${r.text.endsWith('\n') ? r.text : `${r.text}\n`}\n${other}\n`;
}

// ---- host ---------------------------------------------------------------------------------

/** At most `n` names, then a count. */
function names(list: readonly string[], n = 12): string {
  if (list.length === 0) return 'none';
  if (list.length <= n) return list.join(' ');
  return `${list.slice(0, n).join(' ')} ... (${list.length} in all)`;
}

export function renderHostChange(c: HostChangeResult): string {
  const lines = [c.what, `  devices added    ${names(c.devicesAdded)}`, `  devices removed  ${names(c.devicesRemoved)}`];
  for (const uuid of c.guestMatrixChanged) lines.push(`  guest_matrix of ${uuid} changed`);
  for (const g of c.guestsUpdated) lines.push(`  guest ${g.guest}${g.mdev ? ` (mdev ${g.mdev})` : ''} APCB now: ${idsInline(g.apcb)}`);
  if (c.guestsUpdated.length === 0) lines.push('  no guest APCB changed');
  return lines.join('\n') + '\n';
}

// ---- log, locks, status -------------------------------------------------------------------

export function renderEvent(e: LogEvent): string {
  const level = e.level === 'info' ? '' : ` ${e.level}`;
  return `${String(e.seq).padStart(6)}  ${(e.kind + level).padEnd(12)} ${e.text}\n`;
}

export function renderLocks(l: LocksResult): string {
  return l.text.endsWith('\n') ? l.text : `${l.text}\n`;
}

export function renderStatus(s: StatusResult): string {
  const guests = s.guests.length ? s.guests.map((g) => `${g.guest} (mdev ${g.mdev})`).join(', ') : 'none attached';
  return [
    `daemon     pid ${s.pid}, serving ${s.mountDir}, up ${Math.round(s.uptimeMs / 1000)} s`,
    `socket     ${s.socket}`,
    `kernel     ${s.kernel} locking profile${s.scenario ? `, replaying the flawed ordering of scenario ${s.scenario}` : ''}`,
    `config     ${s.config.adapters} adapters, ${s.config.usageDomains} usage domains, ${s.config.controlDomains} control domains`,
    `devices    ${s.devices.cards} cards, ${s.devices.queues} queues (${s.devices.bound} bound)`,
    `mdevs      ${s.mdevs}`,
    `guests     ${guests}`,
    `events     ${s.events}`,
    `lockdep    ${s.lockdepReports} report${s.lockdepReports === 1 ? '' : 's'}`,
  ].join('\n') + '\n';
}

// ---- show ---------------------------------------------------------------------------------

export interface ShowOptions {
  /** Terminal width; the grid is used when it fits. */
  readonly width: number;
  /** 'auto' picks the grid when it fits the width and has at most MAX_GRID_ROWS rows. */
  readonly mode: 'auto' | 'grid' | 'summary';
  /** ANSI colours. */
  readonly color: boolean;
}

/** More rows than this are summarised in auto mode (a 64 x 16 grid still reads well). */
export const MAX_GRID_ROWS = 64;

const ABSENT = '-';
const HOST = 'h';
const FREE = '.';

/** mdev numbers: oldest first (the kernel lists newest first), so creating one renumbers none. */
function mdevNumbers(p: MatrixPicture): Map<string, number> {
  return new Map(p.mdevs.map((m, i) => [m.uuid, p.mdevs.length - i]));
}

/** The cell's token: `-`, `h`, `.`, `N` (assigned to mdev N), `N*` (in its guest), `N!` (assigned, absent). */
function token(c: PictureCell, numbers: Map<string, number>): string {
  switch (c.state) {
    case 'absent':
      return ABSENT;
    case 'host':
      return HOST;
    case 'free':
      return FREE;
    case 'assigned':
      return `${numbers.get(c.mdev!)}${c.present ? '' : '!'}`;
    case 'in-use':
      return `${numbers.get(c.mdev!)}*`;
  }
}

const COLORS: Record<ApqnState, string> = { absent: '2', host: '2', free: '0', assigned: '33', 'in-use': '1;32' };

function paint(s: string, state: ApqnState, color: boolean): string {
  return color && COLORS[state] !== '0' ? `\x1b[${COLORS[state]}m${s}\x1b[0m` : s;
}

function header(p: MatrixPicture): string {
  const guests = p.mdevs.filter((m) => m.guest !== null).length;
  return `AP matrix: ${plural(p.adapters.length, 'adapter')} x ${plural(p.domains.length, 'domain')}, ${plural(p.mdevs.length, 'mdev')}, ${plural(guests, 'guest')} attached`;
}

const rowLabel = (a: MatrixPicture['adapters'][number]): string => `${hex(a.id, 2)} ${a.type ?? '(absent)'}`;

export function renderShow(p: MatrixPicture, opts: ShowOptions): string {
  const numbers = mdevNumbers(p);
  const tokens = p.cells.map((row) => row.map((c) => token(c, numbers)));
  const cellW = Math.max(2, ...tokens.flat().map((t) => t.length));
  const labelW = Math.max(8, ...p.adapters.map((a) => rowLabel(a).length));
  const gridW = labelW + 2 + p.domains.length * (cellW + 1);
  const grid = opts.mode === 'grid' || (opts.mode === 'auto' && gridW <= opts.width && p.adapters.length <= MAX_GRID_ROWS);
  const out = [header(p), ''];
  if (p.adapters.length === 0 || p.domains.length === 0) out.push('(no adapters or no domains to show)');
  else if (grid) out.push(...gridLines(p, tokens, cellW, labelW, opts.color));
  else out.push(...summaryLines(p, tokens, opts.width));
  out.push('', ...mdevLines(p, numbers), '', ...legend(p, grid));
  return out.join('\n') + '\n';
}

function gridLines(p: MatrixPicture, tokens: string[][], cellW: number, labelW: number, color: boolean): string[] {
  const pad = (s: string): string => s.padEnd(cellW);
  const lines = [
    `${'domain'.padStart(labelW)}  ${p.domains.map((d) => pad(hex(d.id, 2))).join(' ')}`.trimEnd(),
    `${'control'.padStart(labelW)}  ${p.domains.map((d) => pad(d.control ? 'C' : ' ')).join(' ')}`.trimEnd(),
  ];
  p.adapters.forEach((a, r) => {
    const cells = tokens[r]!.map((t, i) => paint(pad(t), p.cells[r]![i]!.state, color));
    lines.push(`${rowLabel(a).padEnd(labelW)}  ${cells.join(' ')}`.trimEnd());
  });
  return lines;
}

/**
 * Too big for a grid: per adapter, each token with the runs of domains it covers; adapters whose
 * rows read the same are merged, so a uniform 256 x 256 machine is one line.
 */
function summaryLines(p: MatrixPicture, tokens: string[][], width: number): string[] {
  const counts = Object.entries(p.counts)
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
  const lines = [`APQNs: ${counts}`, `too large for a grid at width ${width}: one line per run of adapters (--grid forces the grid; --adapters/--domains zoom in)`, ''];
  const rowText = tokens.map((row) => {
    const byToken = new Map<string, number[]>();
    row.forEach((t, i) => {
      let l = byToken.get(t);
      if (!l) byToken.set(t, (l = []));
      l.push(p.domains[i]!.id);
    });
    return [...byToken].map(([t, ids]) => `${t} ${idRuns(ids, 2)}`).join('  ');
  });
  for (let r = 0; r < p.adapters.length; ) {
    let s = r;
    // Merge consecutive adapter ids whose rows and types read the same.
    while (s + 1 < p.adapters.length && rowText[s + 1] === rowText[r] && p.adapters[s + 1]!.id === p.adapters[s]!.id + 1 && p.adapters[s + 1]!.type === p.adapters[r]!.type) s++;
    const ids = r === s ? hex(p.adapters[r]!.id, 2) : `${hex(p.adapters[r]!.id, 2)}-${hex(p.adapters[s]!.id, 2)}`;
    lines.push(`${ids.padEnd(5)} ${(p.adapters[r]!.type ?? '(absent)').padEnd(8)}  ${rowText[r]}`);
    r = s + 1;
  }
  return lines;
}

function mdevLines(p: MatrixPicture, numbers: Map<string, number>): string[] {
  if (p.mdevs.length === 0) return ['mdevs: none'];
  const lines = ['mdevs:'];
  for (const m of [...p.mdevs].reverse()) {
    const guest = m.guest === null ? 'no guest' : `guest ${m.guest}`;
    lines.push(`  ${String(numbers.get(m.uuid)).padStart(2)}  ${m.uuid}  ${guest}, control domains ${list(m.matrix.controlDomains, 4)}`);
  }
  return lines;
}

function legend(p: MatrixPicture, grid: boolean): string[] {
  const col = (a: string, b: string): string => `${a.padEnd(29)}${b}`;
  const lines = [
    `legend:  ${col(`${ABSENT}  absent`, `${HOST}  reserved for the host (apmask, aqmask)`)}`,
    `         ${col(`${FREE}  free for pass-through`, 'N  assigned to mdev N')}`,
    `         ${col("N* in mdev N's guest (APCB)", 'N! assigned, not in the host configuration')}`,
  ];
  if (grid) lines.push(`         C  host control domain`);
  const hidden = p.controlDomains.filter((d) => !p.domains.some((c) => c.id === d));
  lines.push(`host control domains: ${list(p.controlDomains, 4)}${hidden.length ? ` (not in the picture: ${idRuns(hidden, 4)})` : ''}`);
  return lines;
}
