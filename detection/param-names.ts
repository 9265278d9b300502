/**
 * Parameter names as a data scientist coming from PyOD or scikit-learn types them. Argus's names are
 * camelCase (nNeighbors, maxSamples, supportFraction) and its seeds are `seed`; PyOD's are snake_case
 * (n_neighbors, max_samples, support_fraction, random_state). A PyOD name with an Argus counterpart is
 * accepted as that name; a PyOD parameter Argus does not have is refused saying why; anything else is
 * refused with the closest known name, if one is close.
 */

export interface ParamNameIssue {
  /** The parameter as the caller named it. */
  name: string;
  message: string;
}

export interface NormalizedParams {
  params: Record<string, unknown>;
  /** [as given, as Argus names it], for every name that was translated. */
  renamed: [string, string][];
  issues: ParamNameIssue[];
}

/** Names that are not a mere snake_case → camelCase change. */
const ALIASES: Record<string, string> = { random_state: 'seed', randomState: 'seed' };

/** PyOD / scikit-learn parameters that Argus deliberately does not take, and what to do instead. */
const NOT_OFFERED: Record<string, Record<string, string>> = {
  '*': {
    n_jobs: 'each fit runs on one worker thread; there is nothing to parallelise per model',
    verbose: 'fits log through the worker, not to the console',
  },
  iforest: {
    max_features: 'every tree considers all columns (max_features=1.0)',
    bootstrap: 'trees draw their rows without replacement (bootstrap=False)',
    behaviour: "scores are PyOD's decision_function orientation (higher = more anomalous)",
  },
  cof: { method: "PyOD's method='fast' and 'memory' compute the same COF, and Argus gives that result: remove it" },
  mahalanobis: {
    store_precision: 'the precision matrix is never formed: distances use the Cholesky factor',
    assume_centered: 'the location is always estimated',
  },
};

export function snakeToCamel(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The Argus name a given parameter name means for `kind`, when it is an alias or a snake_case form. */
export function canonicalParamName(name: string, known?: readonly string[]): string {
  const alias = ALIASES[name];
  if (alias && (!known || known.includes(alias))) return alias;
  const camel = snakeToCamel(name);
  return !known || known.includes(camel) ? camel : name;
}

/** Keys renamed to Argus's names where they have one; no validation (for bounds checks that run before it). */
export function canonicalParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    const target = canonicalParamName(name);
    if (!(target in out) || name === target) out[target] = value;
  }
  return out;
}

/**
 * Translates PyOD-style names to `known` ones. Issues: a name given twice (n_neighbors and nNeighbors), a
 * PyOD parameter Argus does not offer, an unknown name (with the nearest known one as a suggestion).
 */
export function normalizeParamNames(kind: string, params: Record<string, unknown>, known: readonly string[]): NormalizedParams {
  const out: Record<string, unknown> = {};
  const renamed: [string, string][] = [];
  const issues: ParamNameIssue[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (known.includes(name)) {
      if (name in out) issues.push({ name, message: `${name} is given twice (also as ${renamed.find(([, to]) => to === name)?.[0]}): give it once` });
      out[name] = value;
      continue;
    }
    const reason = NOT_OFFERED[kind]?.[name] ?? NOT_OFFERED['*'][name];
    if (reason) {
      issues.push({ name, message: `${kind} does not take PyOD's ${name}: ${reason}` });
      continue;
    }
    const target = canonicalParamName(name, known);
    if (target !== name) {
      if (target in out || Object.hasOwn(params, target)) {
        issues.push({ name, message: `${name} and ${target} name the same parameter: give only ${target}` });
        continue;
      }
      out[target] = value;
      renamed.push([name, target]);
      continue;
    }
    const suggestion = nearestName(name, known);
    issues.push({
      name,
      message: `${kind} has no parameter ${name}${suggestion ? `; did you mean ${suggestion}?` : ''} (its parameters: ${known.join(', ')})`,
    });
  }
  return { params: out, renamed, issues };
}

/** A known name equal to `name` up to case and underscores, or within two edits of it. */
function nearestName(name: string, known: readonly string[]): string | null {
  const squash = (s: string) => s.replace(/_/g, '').toLowerCase();
  const exact = known.find((k) => squash(k) === squash(name));
  if (exact) return exact;
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(squash(k), squash(name));
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
