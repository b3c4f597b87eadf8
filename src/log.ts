/**
 * The closed list of debug namespaces (`DEBUG=apsysfs:*`).
 * Guard expensive formatting with `log.x.enabled`.
 */
import createDebug from 'debug';

export const log = {
  model: createDebug('apsysfs:model'),
  lock: createDebug('apsysfs:lock'),
  sysfs: createDebug('apsysfs:sysfs'),
  fuse: createDebug('apsysfs:fuse'),
  ctl: createDebug('apsysfs:ctl'),
  cli: createDebug('apsysfs:cli'),
} as const;
