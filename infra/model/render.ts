/**
 * Everything `gitlab-eks render` writes, as file name -> content, computed by the same pure functions the
 * Pulumi program uses. Secrets never appear here: they are shown as `[secret]`.
 */
import type { StackConfig } from "../config/types";
import { desiredNodePools } from "./nodePools";
import { renderRunner } from "./runnerRender";

export function renderStack(config: StackConfig): Record<string, string> {
  return {
    "node-pools.json": json(desiredNodePools(config)),
    ...renderRunner(config),
  };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
