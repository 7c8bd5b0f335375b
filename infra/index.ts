/**
 * The Pulumi program (Pulumi.yaml `main` points at its compiled form). Validates the stack's whole
 * configuration first, so bad input stops the run before any resource is registered.
 */
import { configFromPulumi } from "./cloud/config";
import { deployStack } from "./cloud/stack";

const { outputs } = deployStack(configFromPulumi());

export const region = outputs.region;
export const clusterName = outputs.clusterName;
export const kubeconfig = outputs.kubeconfig;
export const oidcProviderArn = outputs.oidcProviderArn;
export const vpcId = outputs.vpcId;
export const privateSubnetIds = outputs.privateSubnetIds;
export const systemPoolName = outputs.systemPoolName;
export const runnerPoolName = outputs.runnerPoolName;
export const isolationLabel = outputs.isolationLabel;
export const isolationTaint = outputs.isolationTaint;
export const sharedSecurityGroupId = outputs.sharedSecurityGroupId;
export const agentName = outputs.agentName;
export const agentId = outputs.agentId;
export const agentProject = outputs.agentProject;
export const agentReceptiveUrl = outputs.agentReceptiveUrl;
export const agents = outputs.agents;
export const runnerId = outputs.runnerId;
export const runnerNamespace = outputs.runnerNamespace;
export const runnerCacheBucket = outputs.runnerCacheBucket;
export const autoscalerRoleArn = outputs.autoscalerRoleArn;
