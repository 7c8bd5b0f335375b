/** Tags on every AWS resource: the user's `gitlab-eks:tags` on top of ours (ours win, they identify). */
import type { StackConfig } from "../config/types";

export function standardTags(config: StackConfig): Record<string, string> {
  return {
    ...config.tags,
    "managed-by": "pulumi",
    "gitlab-eks:project": config.project,
    "gitlab-eks:stack": config.stack,
    "gitlab-eks:cluster": config.cluster.name,
  };
}
