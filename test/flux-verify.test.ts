/**
 * What `gitlab-eks verify` says about Flux for a stack with `agent.installMethod: flux`, against the fake
 * Kubernetes API: the Ready conditions of the Kustomization applying the agent project's manifest folder
 * and of the agent's HelmRelease; a missing or not-ready object fails verify (exit 1) and says which.
 */
import assert from "node:assert/strict";
import { verifySuite } from "./support/fake-kube";

const TOKEN = "k8s-aws-v1.fake-bearer-token-flux";
const STACK = `config:
  aws:region: eu-west-1
  gitlab-eks:cluster:
    name: gitops
    vpcCidr: 10.0.0.0/16
  gitlab-eks:gitlab:
    agentProject: platform/clusters
  gitlab-eks:autoscaler:
    enabled: false
  gitlab-eks:agent:
    name: gitops
    installMethod: flux
`;
const KUSTOMIZATION =
  "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/gitlab-agent-gitops";
const HELM_RELEASE = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/gitlab-agent";
const ready = (status: string, reason: string, message: string) => ({
  status: { conditions: [{ type: "Ready", status, reason, message }] },
});

describe("gitlab-eks verify: Flux's Kustomization and HelmRelease (installMethod flux)", () => {
  const suite = verifySuite("gitops", STACK, TOKEN);
  const verify = () => suite.verify();

  it("reports both Ready conditions when Flux has applied the agent", async () => {
    suite.kube.objects[KUSTOMIZATION] = ready(
      "True",
      "ReconciliationSucceeded",
      "Applied revision: main@sha1:abc",
    );
    suite.kube.objects[HELM_RELEASE] = ready("True", "InstallSucceeded", "Helm install succeeded");
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^ok: Flux Kustomization flux-system\/gitlab-agent-gitops: Ready=True \(ReconciliationSucceeded: Applied revision: main@sha1:abc\); Flux HelmRelease flux-system\/gitlab-agent: Ready=True \(InstallSucceeded: Helm install succeeded\)$/m,
    );
    assert.deepEqual(
      suite.kube.requests
        .filter((q) => q.path.startsWith("/apis/"))
        .map((q) => q.path)
        .sort(),
      [HELM_RELEASE, KUSTOMIZATION],
    );
  });

  it("fails (exit 1) naming a HelmRelease that is not ready, with Flux's reason", async () => {
    suite.kube.objects[KUSTOMIZATION] = ready(
      "False",
      "HealthCheckFailed",
      "HelmRelease/flux-system/gitlab-agent not ready",
    );
    suite.kube.objects[HELM_RELEASE] = ready("False", "InstallFailed", "timed out waiting for the condition");
    const r = await verify();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Flux Kustomization flux-system\/gitlab-agent-gitops: Ready=False \(HealthCheckFailed: /,
    );
    assert.match(
      r.stderr,
      /Flux HelmRelease flux-system\/gitlab-agent: Ready=False \(InstallFailed: timed out/,
    );
  });

  it("fails when Flux has not applied the manifests yet (no HelmRelease) and says where they are", async () => {
    suite.kube.objects[KUSTOMIZATION] = { status: { conditions: [] } };
    const r = await verify();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Kustomization flux-system\/gitlab-agent-gitops: no Ready condition yet/);
    assert.match(
      r.stderr,
      /HelmRelease flux-system\/gitlab-agent: not found; Flux has not applied \.gitlab\/flux\/gitops of platform\/clusters \(branch main\) yet/,
    );
  });
});
