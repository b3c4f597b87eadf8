// The bench's result rows: figure, value, unit, baseline, ratio (value / baseline), and the
// issue's target where it has one. Printed as a table, or as JSON, one object per line.

/** @typedef {{op: '<=' | '>=', limit: number, on?: 'value' | 'ratio'}} Target */
/**
 * @typedef {object} Row
 * @property {string} name
 * @property {number | null} value      null: not measured (see note)
 * @property {string} unit
 * @property {number | null} baseline
 * @property {string | null} baseline_of the figure the baseline is
 * @property {number | null} ratio       value / baseline
 * @property {string | null} target
 * @property {boolean | null} met
 * @property {string | null} note
 */

export class Rows {
  /** @type {Row[]} */
  list = [];

  /**
   * @param {string} name
   * @param {number | null} value
   * @param {string} unit
   * @param {{baselineOf?: string, baseline?: number, target?: Target, note?: string}} [more]
   */
  add(name, value, unit, more = {}) {
    const baselineOf = more.baselineOf ?? null;
    const baseline = more.baseline ?? (baselineOf ? (this.value(baselineOf) ?? null) : null);
    const ratio = value !== null && baseline ? value / baseline : null;
    const t = more.target;
    const checked = t && (t.on === 'ratio' ? ratio : value);
    const met = t && checked !== null && checked !== undefined ? (t.op === '<=' ? checked <= t.limit : checked >= t.limit) : null;
    const row = {
      name, value, unit, baseline, baseline_of: baselineOf, ratio,
      target: t ? `${t.op} ${t.limit}${t.on === 'ratio' ? ' (ratio)' : ''}` : null,
      met, note: more.note ?? null,
    };
    this.list.push(row);
    return row;
  }

  /** A figure that could not be measured, and why. */
  missing(name, unit, why, more = {}) {
    return this.add(name, null, unit, { ...more, note: `missing: ${why}` });
  }

  value(name) {
    return this.list.find(r => r.name === name)?.value ?? undefined;
  }

  json() {
    return this.list.map(r => `${JSON.stringify(r)}\n`).join('');
  }

  table() {
    const head = ['figure', 'value', 'unit', 'baseline', 'ratio', 'target', 'met'];
    const body = this.list.map(r => [
      r.name, fmt(r.value), r.unit, r.baseline === null ? '' : `${fmt(r.baseline)}${r.baseline_of ? ` (${r.baseline_of})` : ''}`,
      r.ratio === null ? '' : r.ratio.toFixed(2), r.target ?? '', r.met === null ? (r.target ? '?' : '') : r.met ? 'yes' : 'MISSED',
    ]);
    const width = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i].length)));
    const right = new Set([1, 3, 4]);
    const line = cells => cells.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ').trimEnd();
    const notes = this.list.filter(r => r.note && r.value !== null).map(r => `  ${r.name}: ${r.note}`);
    const missing = new Map();
    for (const r of this.list.filter(r => r.value === null)) missing.set(r.note, [...(missing.get(r.note) ?? []), r.name]);
    for (const [why, names] of missing) notes.push(`  ${names.join(', ')}: ${why}`);
    return [line(head), line(width.map(w => '-'.repeat(w))), ...body.map(line), '', 'notes:', ...notes, ''].join('\n');
  }
}

function fmt(v) {
  if (v === null || v === undefined) return '-';
  if (Number.isInteger(v) || Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
