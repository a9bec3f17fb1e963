// What a CNI preset provides: a conflist template netlab ships, which a topology names as
// cluster.cni.preset instead of giving a conflist file of its own.
import type {CniPresetName} from '../../topology/types.js'

export interface CniPreset {
  /** the value of cluster.cni.preset that names it */
  name: CniPresetName
  /** one line: the plugins it chains */
  summary: string
  /**
   * Its conflist template (./conflist.ts says what a template is). `mtu`: the pods' MTU when the
   * routing mode needs a smaller one than the kernel's default (vxlan); undefined leaves it out.
   * `hairpin`: the lab has Services, so a pod must be able to reach itself through one (the
   * bridge's hairpinMode: the frame may leave by the port it came in on).
   */
  conflist(mtu?: number, hairpin?: boolean): string
}
