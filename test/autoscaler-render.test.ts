/**
 * `gitlab-eks render` for Cluster Autoscaler, run as a user runs it: the chart values the stack installs,
 * the IRSA policies, and with headroom the placeholder objects, schedule and RBAC.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { autoscalerHelmValues } from "../infra/model/autoscaler";
import { AFTER_UP } from "../infra/model/runnerRender";
import { cli } from "./support/cli";
import { exampleConfig } from "./support/deploy";

function render(stack: string) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-autoscaler-"));
  const r = cli(["render", "--stack", stack, "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  const files = Object.fromEntries(
    fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f), "utf8")]),
  );
  fs.rmSync(out, { recursive: true, force: true });
  return files;
}

describe("gitlab-eks render: Cluster Autoscaler", () => {
  it("writes the chart values the stack installs, the role ARN as a placeholder", () => {
    const files = render("dev");
    const config = exampleConfig("dev");
    assert.match(
      files["autoscaler-values.yaml"],
      /^# Helm values of release cluster-autoscaler \(chart cluster-autoscaler 9\.50\.1\) in namespace kube-system\.\n/,
    );
    const values = parse(files["autoscaler-values.yaml"]) as { image: { tag: string } };
    assert.deepEqual(values, autoscalerHelmValues(config, config.autoscaler!, { roleArn: AFTER_UP }));
    assert.equal(values.image.tag, "v1.33.3");
    assert.equal(files["headroom.yaml"], undefined, "dev has no headroom");
  });

  it("writes the role's trust and permission policies", () => {
    const iam = JSON.parse(render("dev")["autoscaler-iam.json"]);
    assert.equal(
      iam.trustPolicy.Statement[0].Condition.StringEquals["<OIDC issuer, without https://>:sub"],
      "system:serviceaccount:kube-system:cluster-autoscaler",
    );
    const scale = iam.permissionPolicy.Statement.find((s: { Sid: string }) => s.Sid === "ScaleRunnerPool");
    assert.deepEqual(scale.Condition, {
      StringEquals: {
        "aws:ResourceTag/k8s.io/cluster-autoscaler/gitlab-eks-dev": "owned",
        "aws:ResourceTag/k8s.io/cluster-autoscaler/node-template/label/workload": "gitlab-runner",
      },
    });
  });

  it("writes the headroom objects of staging in apply order", () => {
    const docs = parseAllDocuments(render("staging")["headroom.yaml"]).map((d) => d.toJS());
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.name}`),
      [
        "Namespace/gitlab-eks-headroom",
        "PriorityClass/gitlab-eks-runner-headroom",
        "Deployment/runner-headroom",
        "ServiceAccount/runner-headroom-scaler",
        "Role/runner-headroom-scaler",
        "RoleBinding/runner-headroom-scaler",
        "CronJob/runner-headroom-up",
        "CronJob/runner-headroom-down",
      ],
    );
    const [up, down] = docs.slice(6);
    assert.deepEqual(
      [up.spec.schedule, down.spec.schedule, up.spec.timeZone],
      ["0 7 * * 1-5", "0 19 * * 1-5", "Europe/Dublin"],
    );
    assert.deepEqual(docs[2].spec.template.spec.containers[0].resources.requests, {
      cpu: "1400m",
      memory: "5734Mi",
    });
  });
});
