/**
 * Which stack a GitLab object belongs to. Every object a stack creates that GitLab lets us label carries
 * the stack's identity, `[gitlab-eks:PROJECT/STACK]` (Pulumi project and stack): agent tokens in their
 * description, runners in their description, the agent's config file in its header. Only objects carrying
 * this stack's identity are ever revoked or deleted as orphans, and an agent whose config file or tokens
 * name another stack is never taken over. Pure: no GitLab call here.
 */

/** A stack's identity, `PROJECT/STACK`, e.g. `platform-clusters/production`. */
export type Owner = string;

export function ownerOf(project: string, stack: string): Owner {
  return `${project}/${stack}`;
}

/** The label written into descriptions and the config file header. */
export function ownerTag(owner: Owner): string {
  return `[gitlab-eks:${owner}]`;
}

/** Every stack identity a text carries (a description, a file's content), in order, without repeats. */
export function ownersIn(text: string | null | undefined): Owner[] {
  const found: Owner[] = [];
  for (const m of (text ?? "").matchAll(/\[gitlab-eks:([^\]\s/]+\/[^\]\s]+)\]/g))
    if (!found.includes(m[1])) found.push(m[1]);
  return found;
}

export function ownedBy(text: string | null | undefined, owner: Owner): boolean {
  return ownersIn(text).includes(owner);
}

/** The first lines of the agent's config file: who manages it, and that edits are overwritten. */
export function configFileHeader(owner: Owner): string {
  return (
    `# Managed by gitlab-eks ${ownerTag(owner)}: Pulumi project and stack. ` +
    "Edits here are overwritten by the next pulumi up.\n"
  );
}
