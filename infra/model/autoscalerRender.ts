/**
 * `gitlab-eks render` output for Cluster Autoscaler: the chart values (the IRSA role's ARN, known only after
 * `pulumi up`, as a placeholder), the role's trust and permission policies, and with headroom the
 * placeholder objects (and the schedule's CronJobs and RBAC).
 */
import { stringify } from "yaml";
import type { StackConfig } from "../config/types";
import {
  AUTOSCALER_CHART,
  AUTOSCALER_NAMESPACE,
  AUTOSCALER_RELEASE_NAME,
  autoscalerHelmValues,
  autoscalerPermissionPolicy,
  autoscalerTrustPolicy,
} from "./autoscaler";
import { headroomManifests, headroomObjects } from "./headroom";
import { AFTER_UP } from "./runnerRender";

const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });

export function renderAutoscaler(config: StackConfig): Record<string, string> {
  const autoscaler = config.autoscaler;
  if (!autoscaler) return {};
  const oidc = "<oidcProviderArn output>";
  const files: Record<string, string> = {
    "autoscaler-values.yaml":
      `# Helm values of release ${AUTOSCALER_RELEASE_NAME} (chart ${AUTOSCALER_CHART} ${autoscaler.chartVersion}) in namespace ${AUTOSCALER_NAMESPACE}.\n` +
      yaml(autoscalerHelmValues(config, autoscaler, { roleArn: AFTER_UP })),
    "autoscaler-iam.json": `${JSON.stringify(
      {
        trustPolicy: autoscalerTrustPolicy(oidc, "<OIDC issuer, without https://>"),
        permissionPolicy: autoscalerPermissionPolicy(config, `arn:aws:iam::<account>:oidc-provider/<issuer>`),
      },
      null,
      2,
    )}\n`,
  };
  const objects = headroomObjects(config, autoscaler.headroom);
  if (objects) files["headroom.yaml"] = headroomManifests(objects).map(yaml).join("---\n");
  return files;
}
