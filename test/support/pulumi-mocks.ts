/**
 * Pulumi mocks that record every registered resource (type, name, inputs) and invoke, and answer with
 * plausible outputs. @pulumi/eks classes are remote components: under mocks each registers ONE resource
 * (`eks:index:Cluster`, `eks:index:ManagedNodeGroup`) whose body never runs, so their outputs are made up
 * here in the shape the real component returns.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** What the SDK sends the engine for one resource: its type, name and direct dependencies (URNs). */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
  /** Structured aliases (the mock monitor supports alias specs): each one's spec names the old resource. */
  getAliasesList(): { getSpec(): { getName(): string } | undefined }[];
}

export const ACCOUNT = "123456789012";
export const PRIMARY_CLUSTER_SG = "sg-0e1c2a3b4c5d6e7f8";
export const RUNNER_RESOURCE_TYPE = "pulumi-nodejs:dynamic/gitlab-eks:GitlabRunner";
export const MOCK_RUNNER_ID = 4242;
export const MOCK_RUNNER_TOKEN = "glrt-MOCKRUN";
export const ZONES = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/** What the mocked AgentToken returns; tests check it never shows up outside the Secret. */
export const MOCK_AGENT_TOKEN = "glagent-MOCKAGT";
/** What the mocked FluxDeployToken returns (GitLab's deploy tokens start with gldt-). */
export const MOCK_DEPLOY_TOKEN = "gldt-MOCKDEPLOY";

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];
  readonly invokes: { token: string; inputs: Record<string, unknown> }[] = [];
  /** `type::name` -> the URNs the SDK sent as the resource's direct dependencies (dependsOn and inputs). */
  private readonly dependencies = new Map<string, string[]>();
  /**
   * `type::name` -> the names of the resource's aliases that rename it (recorded with the dependencies);
   * the type-only aliases @pulumi/kubernetes adds for older API versions (no name) are left out.
   */
  private readonly aliases = new Map<string, string[]>();

  /**
   * Records the dependencies of every resource registered from now on, by wrapping the mock monitor
   * `pulumi.runtime.setMocks` installed (MockResourceArgs carries no dependencies). Call after setMocks.
   */
  recordDependencies(): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: RegisterRequest, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      this.dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
      this.aliases.set(
        `${req.getType()}::${req.getName()}`,
        req
          .getAliasesList()
          .map((a) => a.getSpec()?.getName() ?? "")
          .filter((name) => name !== ""),
      );
      return register(req, callback);
    };
  }

  /** `type::name` of each resource the given one directly depends on (recordDependencies must be on). */
  dependenciesOf(type: string, name: string): string[] {
    const urns = this.dependencies.get(`${type}::${name}`);
    if (!urns) throw new Error(`no registration of ${type} named ${name} was recorded`);
    // urn:pulumi:<stack>::<project>::<parent types$>type::name
    return urns.map((urn) => {
      const [, , qualifiedType, name] = urn.split("::");
      return `${qualifiedType.split("$").pop()}::${name}`;
    });
  }

  /** The names of the resource's aliases (recordDependencies must be on); [] when it has none. */
  aliasesOf(type: string, name: string): string[] {
    const found = this.aliases.get(`${type}::${name}`);
    if (!found) throw new Error(`no registration of ${type} named ${name} was recorded`);
    return found;
  }

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    this.resources.push({ type: args.type, name: args.name, inputs: args.inputs });
    const id = `${args.name}-id`;
    const arn = `arn:aws:mock:eu-west-1:${ACCOUNT}:${args.name}`;
    switch (args.type) {
      case "eks:index:Cluster": {
        const name = args.inputs.name as string;
        const oidc = `oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF`;
        return {
          id,
          state: {
            eksCluster: {
              name,
              arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${name}`,
              version: args.inputs.version,
              vpcConfig: { clusterSecurityGroupId: PRIMARY_CLUSTER_SG },
            },
            clusterSecurityGroupId: PRIMARY_CLUSTER_SG,
            kubeconfigJson: JSON.stringify({
              apiVersion: "v1",
              kind: "Config",
              clusters: [{ name, cluster: { server: "https://0123.gr7.eu-west-1.eks.amazonaws.com" } }],
            }),
            oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${oidc}`,
            oidcProviderUrl: `https://${oidc}`,
            oidcIssuer: oidc,
          },
        };
      }
      case "eks:index:ManagedNodeGroup": {
        const name = `${args.inputs.nodeGroupNamePrefix ?? args.name}20261122035500000000000001`;
        return {
          id,
          state: {
            nodeGroup: {
              nodeGroupName: name,
              resources: [{ autoscalingGroups: [{ name: `eks-${name}-a1b2c3d4` }] }],
            },
          },
        };
      }
      // GitLab objects (dynamic providers): what the providers return after create.
      case "pulumi-nodejs:dynamic/gitlab-eks:ClusterAgent":
        return { id: "42", state: { ...args.inputs, agentId: 42, adopted: false } };
      case "pulumi-nodejs:dynamic/gitlab-eks:AgentToken":
        return { id: "7", state: { ...args.inputs, tokenId: 7, token: MOCK_AGENT_TOKEN } };
      case "pulumi-nodejs:dynamic/gitlab-eks:FluxDeployToken":
        return {
          id: "5",
          state: { ...args.inputs, tokenId: 5, username: "gitlab+deploy-token-5", token: MOCK_DEPLOY_TOKEN },
        };
      case "pulumi-nodejs:dynamic/gitlab-eks:RepositoryFile":
        return {
          id: `${args.inputs.project}:${args.inputs.path}`,
          state: { branch: "main", ...args.inputs, sha256: "0".repeat(64) },
        };
      case "pulumi-nodejs:dynamic/gitlab-eks:AgentEnvironment":
        return { id: "11", state: { ...args.inputs, environmentId: 11 } };
      case "pulumi-nodejs:dynamic/gitlab-eks:ReceptiveUrl":
        return { id: "3", state: { ...args.inputs, publicKey: "MCowBQYDK2VwAyEAmockpublickey" } };
      case "kubernetes:core/v1:Service": {
        // A LoadBalancer Service gets its load balancer's DNS name, as the AWS cloud provider reports it.
        const lb = (args.inputs.spec as { type?: string } | undefined)?.type === "LoadBalancer";
        const hostname = `${args.name}-0123456789.elb.eu-west-1.amazonaws.com`;
        return {
          id,
          state: { ...args.inputs, ...(lb ? { status: { loadBalancer: { ingress: [{ hostname }] } } } : {}) },
        };
      }
      case "aws:ec2/launchTemplate:LaunchTemplate":
        return { id: `lt-${args.name}`, state: { ...args.inputs, arn, latestVersion: 1 } };
      case "aws:iam/role:Role":
        return {
          id,
          state: { ...args.inputs, arn: `arn:aws:iam::${ACCOUNT}:role/${args.name}`, name: args.name },
        };
      case RUNNER_RESOURCE_TYPE:
        // What POST /user/runners answers; the token is a made-up glrt- token.
        return {
          id: String(MOCK_RUNNER_ID),
          state: { ...args.inputs, runnerId: MOCK_RUNNER_ID, token: MOCK_RUNNER_TOKEN, tokenExpiresAt: null },
        };
      case "aws:s3/bucket:Bucket": {
        const bucket = `${args.inputs.bucketPrefix ?? args.name}20261122000000000000000001`;
        return { id: bucket, state: { ...args.inputs, bucket, arn: `arn:aws:s3:::${bucket}` } };
      }
      default:
        return { id, state: { ...args.inputs, arn } };
    }
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    this.invokes.push({ token: args.token, inputs: args.inputs });
    switch (args.token) {
      case "aws:index/getAvailabilityZones:getAvailabilityZones":
        return { names: ZONES, zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"], id: "eu-west-1" };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
      case "aws:eks/getAddonVersion:getAddonVersion":
        return { addonName: args.inputs.addonName, version: "v1.12.1-eksbuild.2", id: "coredns" };
      default:
        throw new Error(`unexpected invoke ${args.token}: add it to RecordingMocks`);
    }
  }

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  one(type: string, name: string): RecordedResource {
    const found = this.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0];
  }
}

/** Resolves an Output's value (under mocks with preview=false every output resolves). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Waits until every given resource has been registered with the (mock) engine. */
export async function settle(resources: pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((r) => valueOf(r.urn)));
}

/** Pulumi's wire envelope for a secret value (what a resource marked secret sends to the engine). */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The value inside a secret envelope, or undefined when `x` is not a secret. */
export function secretValue(x: unknown): unknown {
  const r = x as Record<string, unknown> | null;
  return r && typeof r === "object" && r[SIG_KEY] === SECRET_SIG ? r.value : undefined;
}
