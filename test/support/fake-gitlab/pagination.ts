/** GitLab's offset pagination (lib/gitlab/pagination/offset_pagination.rb + offset_header_builder.rb). */
import { TOKEN_QUERY_KEYS, pInt, Ctx } from "./http";

export function createPagination(baseUrl: () => string) {
  const paginationHeaders = new WeakMap<Ctx, Record<string, string>>();
  function paginate<T>(ctx: Ctx, items: T[]): T[] {
    const rawPage = pInt(ctx.params, "page");
    const rawPer = pInt(ctx.params, "per_page");
    const page = rawPage == null || rawPage < 1 ? 1 : rawPage;
    let perPage = rawPer == null || rawPer < 1 ? 20 : rawPer;
    if (perPage > 100) perPage = 100;
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const outOfRange = page > totalPages;
    const next = !outOfRange && page < totalPages ? page + 1 : null;
    const prev = !outOfRange && page > 1 ? page - 1 : null;
    const href = (n: number): string => {
      const q: [string, string][] = [];
      for (const [k, v] of Object.entries(ctx.query)) {
        if (k === "page" || k === "per_page" || TOKEN_QUERY_KEYS.has(k)) continue;
        if (Array.isArray(v)) for (const x of v) q.push([`${k}[]`, x]);
        else q.push([k, v]);
      }
      q.push(["page", String(n)], ["per_page", String(perPage)]);
      q.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const qs = q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
      return `${baseUrl()}${ctx.rawPath}?${qs}`;
    };
    const links: string[] = [];
    if (prev) links.push(`<${href(prev)}>; rel="prev"`);
    if (next) links.push(`<${href(next)}>; rel="next"`);
    links.push(`<${href(1)}>; rel="first"`);
    links.push(`<${href(totalPages)}>; rel="last"`);
    paginationHeaders.set(ctx, {
      "x-per-page": String(perPage),
      "x-page": String(page),
      "x-next-page": next ? String(next) : "",
      "x-prev-page": prev ? String(prev) : "",
      link: links.join(", "),
      "x-total": String(total),
      "x-total-pages": String(totalPages),
    });
    return items.slice((page - 1) * perPage, page * perPage);
  }

  return { paginationHeaders, paginate };
}
