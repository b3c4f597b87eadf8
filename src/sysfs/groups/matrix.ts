/**
 * The matrix device's own attribute.
 * @kernel vfio_ap_drv.c features_show (mainline text)
 */
import type { MatrixDev } from '../../model/vfio_ap/matrix-dev.js';
import { ro, type AttrGroup } from '../attr.js';

export const matrixAttrs: AttrGroup<MatrixDev> = {
  attrs: [ro('features', () => 'guest_matrix hotplug ap_config\n')],
};
