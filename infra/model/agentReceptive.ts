/**
 * A receptive agent exposed by the stack (`agent.receptive.expose`): the Service of type LoadBalancer in
 * front of agentk's receptive API, and the URL GitLab connects to once the load balancer has an address.
 */
import type { AgentConfig } from "../config/agent";
import { RECEPTIVE_API_PORT } from "../config/agentModes";
import { AGENT_CHART } from "./agent";

export interface ReceptiveService {
  apiVersion: "v1";
  kind: "Service";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    type: "LoadBalancer";
    selector: Record<string, string>;
    ports: { name: string; protocol: "TCP"; port: number; targetPort: number }[];
    /** Clients the load balancer accepts (`agent.receptive.sourceRanges`); absent: the cloud's default. */
    loadBalancerSourceRanges?: string[];
  };
}

/**
 * The Service exposing agentk's receptive API (port 8082, `config.api.listenAddress`) through a Network Load
 * Balancer. The annotations are the in-tree AWS cloud provider's, which EKS runs in every cluster, so no
 * controller has to be installed: `aws-load-balancer-type: nlb`, and `aws-load-balancer-internal` for an
 * internal one (in the private subnets, reachable from the VPC and what is peered or routed to it). The
 * AWS Load Balancer Controller, if you installed it, takes such a Service over and reads
 * `aws-load-balancer-scheme` instead (it also honours the in-tree spelling): both are set, so the scheme
 * is the same whichever handles it. The pods are the chart's (its selector labels for this release).
 */
export function receptiveService(agent: AgentConfig): ReceptiveService | undefined {
  const expose = agent.receptive?.expose ?? "none";
  if (expose === "none") return undefined;
  const internal = expose === "internal";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: `${agent.releaseName}-receptive`.slice(0, 63),
      namespace: agent.namespace,
      labels: { "app.kubernetes.io/managed-by": "gitlab-eks", "gitlab-eks/agent": agent.name },
      annotations: {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": internal ? "internal" : "internet-facing",
        ...(internal ? { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" } : {}),
      },
    },
    spec: {
      type: "LoadBalancer",
      selector: { "app.kubernetes.io/name": AGENT_CHART, "app.kubernetes.io/instance": agent.releaseName },
      ports: [
        { name: "receptive-api", protocol: "TCP", port: RECEPTIVE_API_PORT, targetPort: RECEPTIVE_API_PORT },
      ],
      // The in-tree AWS cloud provider turns these into the nodes' security group rules for the NLB's port
      // (an NLB keeps the client's address, so the rules see GitLab's).
      ...(agent.receptive?.sourceRanges
        ? { loadBalancerSourceRanges: [...agent.receptive.sourceRanges] }
        : {}),
    },
  };
}

/** The URL GitLab connects to through the load balancer: plain gRPC (validation keeps TLS settings away). */
export function exposedReceptiveUrl(address: string): string {
  return `grpc://${address}:${RECEPTIVE_API_PORT}`;
}
