/**
 * The simulated machine below the AP bus: which adapters and domains the LPAR's configuration has
 * (what the SE/HMC sets and QCI reports) and each adapter's physical state (what TAPQ answers).
 * Only Host (and the SE/HMC control operations) change it; the AP bus reads it on every scan.
 */
import { ApMask } from './ap-mask.js';
import { ApConfig } from './ap-config.js';
import type { AdapterSpec } from '../topology.js';

export interface HwAdapter extends AdapterSpec {
  configured: boolean;
  chkstop: boolean;
}

export class Hardware {
  readonly adapters = new Map<number, HwAdapter>();
  readonly usageDomains: ApMask;
  readonly controlDomains: ApMask;

  constructor(
    adapters: readonly AdapterSpec[],
    usageDomains: readonly number[],
    controlDomains: readonly number[],
    /** QCI facility available; without it the bus sees nothing and the QCI files read "not supported". */
    readonly qciAvailable: boolean,
  ) {
    for (const a of adapters) this.adapters.set(a.id, { ...a });
    this.usageDomains = ApMask.fromIds(usageDomains);
    this.controlDomains = ApMask.fromIds(controlDomains);
  }

  /** @kernel ap_bus.c ap_fetch_qci_info: the configuration as QCI reports it (standby adapters included). */
  qci(): ApConfig {
    if (!this.qciAvailable) return ApConfig.empty();
    return new ApConfig(ApMask.fromIds(this.adapters.keys()), this.usageDomains.clone(), this.controlDomains.clone());
  }

  /**
   * Response code a ZAPQ/TAPQ of (apid, apqi) would give: 0 normal, 1 queue not available (not in the
   * configuration), 3 deconfigured, 4 checkstopped. @kernel ap.h AP_RESPONSE_*
   */
  queueResponse(apid: number, apqi: number): number {
    const a = this.adapters.get(apid);
    if (!a || !this.usageDomains.test(apqi)) return 1;
    if (a.chkstop) return 4;
    if (!a.configured) return 3;
    return 0;
  }
}
