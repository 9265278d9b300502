import { temporal } from '@temporalio/proto';
import { searchAttributeDefinitions } from '../../contracts/search-attributes';

type OperatorService = {
  listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  addSearchAttributes(request: { namespace: string; searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> }): Promise<unknown>;
};

const INDEXED: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
};

export class SearchAttributeSetupError extends Error {
  override name = 'SearchAttributeSetupError';
}

/**
 * Registers Argus's search attributes in the namespace where missing (the operator service; what the
 * dev server's `--search-attribute` flags do at its start). Workflows upsert them, so a worker refuses to
 * start on a namespace that lacks them and cannot get them: on Temporal Cloud, add them in the UI or with
 * tcld first. Returns the names it added.
 */
export async function ensureSearchAttributes(connection: { operatorService: unknown }, namespace: string): Promise<string[]> {
  const operator = connection.operatorService as OperatorService;
  const wanted = searchAttributeDefinitions();
  let existing: Record<string, unknown>;
  try {
    existing = (await operator.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    throw new SearchAttributeSetupError(`cannot list the search attributes of namespace ${namespace}: ${(err as Error).message}`);
  }
  const missing = wanted.filter((a) => !(a.name in existing));
  if (missing.length === 0) return [];
  try {
    await operator.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((a) => [a.name, INDEXED[a.type]])) });
  } catch (err) {
    const list = missing.map((a) => `${a.name} (${a.type})`).join(', ');
    throw new SearchAttributeSetupError(`namespace ${namespace} lacks the search attributes ${list} and they could not be added: ${(err as Error).message}`);
  }
  return missing.map((a) => a.name);
}

/** `temporal server start-dev` arguments that register the attributes at the server's start. */
export function devServerSearchAttributeArgs(): string[] {
  return searchAttributeDefinitions().flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]);
}
