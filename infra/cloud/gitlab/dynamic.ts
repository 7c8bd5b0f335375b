/**
 * Shared pieces of our GitLab dynamic providers (the pattern every GitLab object in this project follows):
 *   - the only connection input is a GitlabTarget (URL and the NAME of the token's environment variable);
 *   - the token is read from the provider process's environment at each request: never an input, never
 *     in state, never captured by the serialized provider (test/dynamic-providers-serialized.test.ts checks this);
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

/** Every GitLab object has a `target` input: another instance (URL) is another object. */
export const targetKey = "target";

/**
 * Diff by keys: a change in `replaceKeys` replaces the object, in `updateKeys` updates it in place.
 * `target` is special: a new URL replaces (another GitLab, another object), while a new token variable
 * NAME is an in-place update that calls nothing (the same object, reached with another token).
 */
export function diffByKeys(
  olds: Props,
  news: Props,
  replaceKeys: string[],
  updateKeys: string[],
): pulumi.dynamic.DiffResult {
  const value = (props: Props, k: string) => {
    const target = props[targetKey] as GitlabTarget | undefined;
    if (k === `${targetKey}.url`) return target?.url;
    if (k === `${targetKey}.tokenVariable`) return target?.tokenVariable;
    return props[k];
  };
  const differs = (k: string) =>
    JSON.stringify(value(olds, k) ?? null) !== JSON.stringify(value(news, k) ?? null);
  const expand = (keys: string[], targetPart: string) =>
    keys.map((k) => (k === targetKey ? `${targetKey}.${targetPart}` : k));
  const replaces = expand(replaceKeys, "url")
    .filter(differs)
    .map((k) => (k.startsWith(`${targetKey}.`) ? targetKey : k));
  const updates = [
    ...updateKeys,
    ...(replaceKeys.includes(targetKey) ? [`${targetKey}.tokenVariable`] : []),
  ].filter(differs);
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
}
