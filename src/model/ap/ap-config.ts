/**
 * The host's AP configuration as the Query Configuration Information (QCI) reports it.
 * @kernel ap_bus.c ap_qci_info, ap_qci_info_old; ap_bus.h struct ap_config_info
 */
import { ApMask } from './ap-mask.js';

export class ApConfig {
  constructor(
    /** Adapters in the configuration (configured or standby). */
    readonly apm: ApMask,
    /** Usage domains. */
    readonly aqm: ApMask,
    /** Control domains. */
    readonly adm: ApMask,
  ) {}

  static empty(): ApConfig {
    return new ApConfig(ApMask.zero(), ApMask.zero(), ApMask.zero());
  }

  clone(): ApConfig {
    return new ApConfig(this.apm.clone(), this.aqm.clone(), this.adm.clone());
  }

  equals(o: ApConfig): boolean {
    return this.apm.equals(o.apm) && this.aqm.equals(o.aqm) && this.adm.equals(o.adm);
  }
}
