/**
 * Reads the stack configuration inside a Pulumi program and validates it before any resource is
 * registered. Same validation as `gitlab-eks validate`.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/problems";
import { NAMESPACE } from "../config/schema";
import type { StackConfig } from "../config/types";
import { validateStackConfig } from "../config/validate";

/** Pulumi hands structured config values over as JSON text; plain values as they are. */
function parseConfigValue(raw: string): unknown {
  const text = raw.trim();
  if (text.startsWith("{") || text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      return raw;
    }
  }
  return raw;
}

export function configFromPulumi(): StackConfig {
  const values: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(pulumi.runtime.allConfig())) {
    values[key] = key.startsWith(`${NAMESPACE}:`) ? parseConfigValue(raw) : raw;
  }
  const stack = pulumi.getStack();
  const result = validateStackConfig({ project: pulumi.getProject(), stack, values, env: process.env });
  if (!result.ok) {
    // RunError: a clean message, no stack trace; nothing has been registered yet.
    throw new pulumi.RunError(
      `${new ConfigError(result.problems, stack).message}\nNothing was created. ` +
        `Check the whole configuration offline with: npx gitlab-eks validate --stack ${stack}`,
    );
  }
  return result.config;
}
