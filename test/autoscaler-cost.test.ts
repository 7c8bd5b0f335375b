/** The idle-cost benchmark (`npm run bench:cost`): each example stack's runner pool at its minimum size. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { idleRunnerPoolCost, PRICES } from "../scripts/cost";
import { configOf, minimal } from "./support/config";
import { exampleConfig, ROOT } from "./support/deploy";

describe("idle runner pool cost", () => {
  it("is $0 for dev and staging (minSize 0) and one on-demand m6i.xlarge for production", () => {
    assert.deepEqual(
      [idleRunnerPoolCost(exampleConfig("dev")).high, idleRunnerPoolCost(exampleConfig("staging")).high],
      [0, 0],
    );
    const production = idleRunnerPoolCost(exampleConfig("production"));
    assert.equal(production.low, production.high);
    assert.equal(production.high.toFixed(2), (PRICES.prices["m6i.xlarge"].onDemand * 730).toFixed(2));
  });

  it("gives a range over a pool's instance types, at the spot price for a spot pool", () => {
    const c = idleRunnerPoolCost(
      configOf(
        minimal({
          "gitlab-eks:runnerPool": {
            instanceTypes: ["t3.medium", "t3a.medium"],
            capacityType: "SPOT",
            minSize: 2,
          },
        }),
      ),
    );
    assert.equal(c.low, 2 * PRICES.prices["t3a.medium"].spot * 730);
    assert.equal(c.high, 2 * PRICES.prices["t3.medium"].spot * 730);
  });

  it("refuses an instance type the price table does not have, rather than print a wrong figure", () => {
    const config = configOf(minimal({ "gitlab-eks:runnerPool": { instanceTypes: ["m7g.large"] } }));
    assert.throws(
      () => idleRunnerPoolCost(config),
      /scripts\/instance-prices\.json has no price for m7g\.large/,
    );
  });

  it("prints every example stack, dev at $0, with the table's source and date", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "dist", "scripts", "bench-cost.js")], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /prices recorded \d{4}-\d{2}-\d{2}/);
    assert.match(r.stdout, /^dev +\$0\.00\/month/m);
    assert.match(r.stdout, /^staging +\$0\.00\/month/m);
    assert.match(r.stdout, /^production +\$156\.22\/month +\(1 x m6i\.xlarge ON_DEMAND\)/m);
    assert.match(r.stdout, /^on-demand: AWS EC2 On-Demand pricing/m);
  });
});
