/**
 * Prints the idle monthly cost of each example stack's runner pool at its minimum size (no job running),
 * from the committed price table. With Cluster Autoscaler a pool of minSize 0 costs nothing while idle.
 *   npm run bench:cost
 */
import * as path from "node:path";
import { readStackFiles } from "../infra/config/stackFiles";
import { requireValidConfig } from "../infra/config/validate";
import { formatIdleCost, idleRunnerPoolCost, PRICES } from "./cost";

const root = path.resolve(__dirname, "..", "..");
console.log(
  `Idle runner pool cost per month at minSize (${PRICES.region}, ${PRICES.currency}, ${PRICES.hoursPerMonth} h/month; ` +
    `prices recorded ${PRICES.recorded}, scripts/instance-prices.json)`,
);
for (const stack of ["dev", "staging", "production"]) {
  const files = readStackFiles(root, stack);
  const config = requireValidConfig({ project: files.project, stack, values: files.values, env: {} });
  console.log(formatIdleCost(idleRunnerPoolCost(config)));
}
console.log(`on-demand: ${PRICES.sources.onDemand}`);
console.log(`spot: ${PRICES.sources.spot}`);
