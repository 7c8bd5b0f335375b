/**
 * The Kubernetes objects of the stack's agents that are not their GitLab objects: the namespaces (once
 * per cluster, however many agents name them), each agent's RBAC objects and receptive Service, and the
 * Pulumi names that keep several agents' resources apart (docs/several-agents.md, "What each agent gets").
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AgentConfig } from "../config/agent";
import { agentAccessNamespaces, agentRbac, type RbacObject } from "../model/agent";
import { exposedReceptiveUrl, receptiveService } from "../model/agentReceptive";

type Constructor<A, O, R> = new (name: string, args: A, opts?: O) => R;

/**
 * Registers one of `agent`'s resources under `base` plus the agent's resourceSuffix: `gitlab-eks:agent`
 * keeps the names it always had, an `agents` entry adds `-<name>`, so two agents never share a URN. The
 * first `agents` entry also gets an alias to the shorthand's name: moving `gitlab-eks:agent` into
 * `agents[0]` renames its resources in state and replaces nothing.
 */
export function agentResource<A, O extends pulumi.ResourceOptions, R>(
  agent: AgentConfig,
  Resource: Constructor<A, O, R>,
  base: string,
  args: A,
  opts: O = {} as O,
): R {
  const aliased =
    agent.index === 0 && agent.resourceSuffix
      ? { ...opts, aliases: [...(opts.aliases ?? []), { name: base }] }
      : opts;
  return new Resource(`${base}${agent.resourceSuffix}`, args, aliased);
}

const MANAGED = { "app.kubernetes.io/managed-by": "gitlab-eks" };

/**
 * Every namespace the agents need (each agent's own, its ciAccess and dashboard namespaces, and Flux's),
 * each created once, as `ns-<name>` (the names a one-agent stack always had). A namespace that is an
 * agent's own carries the `gitlab-eks/agent` label of the first agent (in config order) that lives in it;
 * the others carry only the managed-by label.
 */
export function agentNamespaces(
  agents: AgentConfig[],
  opts: pulumi.CustomResourceOptions,
): Map<string, k8s.core.v1.Namespace> {
  const home = new Map<string, string>();
  for (const a of agents) if (!home.has(a.namespace)) home.set(a.namespace, a.name);
  const names = new Set<string>();
  for (const a of agents) {
    names.add(a.namespace);
    for (const n of agentAccessNamespaces(a)) names.add(n);
  }
  for (const a of agents) if (a.installMethod === "flux") names.add(a.flux.namespace);
  const namespaces = new Map<string, k8s.core.v1.Namespace>();
  for (const name of names) {
    const agent = home.get(name);
    const labels = agent ? { ...MANAGED, "gitlab-eks/agent": agent } : MANAGED;
    namespaces.set(name, new k8s.core.v1.Namespace(`ns-${name}`, { metadata: { name, labels } }, opts));
  }
  return namespaces;
}

/** The namespace `name` from agentNamespaces (which made every one an agent names). */
export function namespaceOf(namespaces: Map<string, k8s.core.v1.Namespace>, name: string) {
  const ns = namespaces.get(name);
  if (!ns) throw new Error(`namespace ${name} was not created by agentNamespaces`);
  return ns;
}

/**
 * agent.receptive.expose: a Service of type LoadBalancer in front of agentk's receptive API; its address
 * becomes the URL when none is configured. Pulumi waits for the load balancer's address.
 */
export function exposeReceptiveAgent(
  agent: AgentConfig,
  opts: pulumi.CustomResourceOptions,
): { service: k8s.core.v1.Service; url: pulumi.Output<string> } | undefined {
  const desired = receptiveService(agent);
  if (!desired) return undefined;
  const service = agentResource(
    agent,
    k8s.core.v1.Service,
    `gitlab-agent-receptive-${agent.releaseName}`,
    { metadata: desired.metadata, spec: desired.spec },
    opts,
  );
  const configured = agent.receptive?.url;
  const url = configured
    ? pulumi.output(configured)
    : service.status.apply((st) => {
        const ingress = st?.loadBalancer?.ingress?.[0];
        const address = ingress?.hostname || ingress?.ip;
        if (!address)
          throw new pulumi.RunError(
            `The load balancer of Service ${desired.metadata.namespace}/${desired.metadata.name} has no address; ` +
              `check the Service's events (kubectl describe service), or set ${agent.configKey}.receptive.url`,
          );
        return exposedReceptiveUrl(address);
      });
  return { service, url };
}

/**
 * One RBAC object as a resource; ci_job subjects get GitLab's numeric ids from the preflight. Its Pulumi
 * name carries the object's name, which carries the agent's name (`gitlab-agent-<name>...`): no suffix.
 */
export function rbacResource(
  object: RbacObject,
  ids: pulumi.Output<Record<string, number>>,
  index: number,
  agent: AgentConfig,
  opts: pulumi.CustomResourceOptions,
): pulumi.CustomResource {
  const name = `agent-rbac-${index}-${object.kind.toLowerCase()}-${object.metadata.name}`;
  switch (object.kind) {
    case "ClusterRole":
      return new k8s.rbac.v1.ClusterRole(name, { metadata: object.metadata, rules: object.rules }, opts);
    case "Role":
      return new k8s.rbac.v1.Role(name, { metadata: object.metadata, rules: object.rules }, opts);
    case "ClusterRoleBinding":
      return new k8s.rbac.v1.ClusterRoleBinding(
        name,
        { metadata: object.metadata, roleRef: object.roleRef!, subjects: object.subjects },
        opts,
      );
    case "RoleBinding":
      return new k8s.rbac.v1.RoleBinding(
        name,
        {
          metadata: object.metadata,
          roleRef: object.roleRef!,
          subjects: ids.apply((resolved) => agentRbac(agent, resolved)[index].subjects!),
        },
        opts,
      );
  }
}
