/**
 * Shared pieces of our GitLab dynamic providers (the pattern every GitLab object in this project follows):
 *   - the only connection input is a GitlabTarget (URL and the NAME of the token's environment variable);
 *   - the token is read from the provider process's environment at each request: never an input, never
 *     in state, never captured by the serialized provider (test/dynamic-providers.test.ts checks this);
 *   - create finds before it creates (adopts), delete treats "already gone" as done, read returns an
 *     empty id when the object is gone so `pulumi refresh` notices;
 *   - providers are plain objects whose functions call infra/gitlab, so Pulumi's closure serialization
 *     captures those functions by value and gitbeaker by `require`.
 */
import type * as pulumi from "@pulumi/pulumi";
import { gitlabClient, type GitlabApi } from "../../gitlab/client";
import type { GitlabConnection } from "../../gitlab/connection";

export type GitlabTarget = GitlabConnection;

/** A client for a provider operation; the token comes from this process's environment when a request is made. */
export function providerApi(target: GitlabTarget, purpose: string): GitlabApi {
  return gitlabClient(target, { env: process.env, purpose });
}

type Props = Record<string, unknown>;

/** Diff by keys: a change in `replaceKeys` replaces the object, in `updateKeys` updates it in place. */
export function diffByKeys(
  olds: Props,
  news: Props,
  replaceKeys: string[],
  updateKeys: string[],
): pulumi.dynamic.DiffResult {
  const differs = (k: string) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null);
  const replaces = replaceKeys.filter(differs);
  const updates = updateKeys.filter(differs);
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}

/** `target` is a replace key of every GitLab object: another instance is another object. */
export const targetKey = "target";
