/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): "500m", "2", "1.5", "1Gi",
 * "512M", "1e3". Pure, so config validation can check them offline.
 */

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value in base units (cores, bytes), or undefined when it is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim() === text ? text : "");
  if (!m) return undefined;
  const [, number, suffix = ""] = m;
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  const value = Number(number) * factor;
  return Number.isFinite(value) ? value : undefined;
}

/** What is wrong with a CPU quantity, or undefined. */
export function cpuQuantityProblem(text: string): string | undefined {
  const value = parseQuantity(text);
  if (value === undefined)
    return `is not a Kubernetes CPU quantity; use cores ("1", "0.5") or millicores ("500m")`;
  if (value < 0.001) return `is less than 1m (one millicore), the smallest CPU amount Kubernetes schedules`;
  return undefined;
}

/** What is wrong with a memory quantity, or undefined. */
export function memoryQuantityProblem(text: string): string | undefined {
  const value = parseQuantity(text);
  if (value === undefined)
    return `is not a Kubernetes memory quantity; use bytes with a suffix such as "512Mi" or "2Gi"`;
  if (value < 2 ** 20)
    return `is less than 1Mi; no container runs in that (did you forget the Mi/Gi suffix?)`;
  return undefined;
}
