/**
 * The idle cost of a runner pool: what its `minSize` nodes cost per month when no job runs, from the
 * committed price table (scripts/instance-prices.json: on-demand and typical spot prices, with source
 * and date). A pool of several instance types may get any of them, so the cost is a range.
 */
import type { StackConfig } from "../infra/config/types";
import table from "./instance-prices.json";

export type PriceTable = typeof table;
export const PRICES: PriceTable = table;

export interface IdleCost {
  stack: string;
  minSize: number;
  capacityType: string;
  instanceTypes: string[];
  /** Monthly cost at minSize with the cheapest and the dearest of the pool's types. */
  low: number;
  high: number;
}

export function idleRunnerPoolCost(config: StackConfig, prices: PriceTable = PRICES): IdleCost {
  const pool = config.runnerPool;
  const kind = pool.capacityType === "SPOT" ? "spot" : "onDemand";
  const hourly = pool.instanceTypes.map((type) => {
    const price = (prices.prices as Record<string, { onDemand: number; spot: number }>)[type];
    if (!price)
      throw new Error(
        `scripts/instance-prices.json has no price for ${type} (stack ${config.stack}); add it, with its source`,
      );
    return price[kind];
  });
  const month = (perHour: number) => pool.minSize * perHour * prices.hoursPerMonth;
  return {
    stack: config.stack,
    minSize: pool.minSize,
    capacityType: pool.capacityType,
    instanceTypes: [...pool.instanceTypes],
    low: month(Math.min(...hourly)),
    high: month(Math.max(...hourly)),
  };
}

export const dollars = (x: number) => `$${x.toFixed(2)}`;

export function formatIdleCost(c: IdleCost): string {
  const amount = c.low === c.high ? dollars(c.low) : `${dollars(c.low)}-${dollars(c.high)}`;
  return `${c.stack.padEnd(11)} ${amount.padStart(15)}/month  (${c.minSize} x ${c.instanceTypes.join("|")} ${c.capacityType})`;
}
