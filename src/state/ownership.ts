/**
 * Owner and labels of stores and functions (docs/safe-changes.md, "Permissions and ownership"): who answers for a
 * resource, and free-form `name=value` labels (`env=prod`, `team=payments`). A resource gets the id of the access
 * key that created it as its owner; either may be changed later. Both backends store them and check them here.
 */
import { OpenFrontError } from '../errors.js';

export interface Ownership {
  owner?: string;
  labels?: Record<string, string>;
}

/** A change: fields given replace the stored ones (`labels` replaces the whole set; `{}` removes every label). */
export interface OwnershipChange {
  owner?: string;
  labels?: Record<string, string>;
}

export const MAX_OWNER_LENGTH = 128;
export const MAX_LABELS = 16;
export const MAX_LABEL_VALUE_LENGTH = 128;
/** Label names: lower-case letters, digits, ".", "_", "/", "-"; starting with a letter or digit; at most 63. */
const LABEL_NAME = /^[a-z0-9][a-z0-9._/-]{0,62}$/;
/** Owners and label values: printable text, no control characters. */
const PRINTABLE = /^[^\p{Cc}\p{Cf}]*$/u;

function invalid(message: string): OpenFrontError {
  return new OpenFrontError('OWNERSHIP_INVALID', message);
}

/** Checks a change from outside (API body, CLI) and returns it with only the fields it sets. */
export function parseOwnershipChange(input: unknown): OwnershipChange {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('The ownership must be an object {"owner": "…", "labels": {"name": "value"}}');
  }
  const { owner, labels, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw invalid(`Unknown ownership field ${JSON.stringify(unknown[0])}: only owner and labels can be set`);
  if (owner === undefined && labels === undefined) throw invalid('Give an owner, labels, or both');
  const change: OwnershipChange = {};
  if (owner !== undefined) {
    if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH || !PRINTABLE.test(owner)) {
      throw invalid(`The owner must be printable text of 1 to ${MAX_OWNER_LENGTH} characters`);
    }
    change.owner = owner;
  }
  if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw invalid('labels must be an object {"name": "value"}');
    const entries = Object.entries(labels as Record<string, unknown>);
    if (entries.length > MAX_LABELS) throw invalid(`A resource has at most ${MAX_LABELS} labels, got ${entries.length}`);
    const checked: Record<string, string> = {};
    for (const [name, value] of entries) {
      if (!LABEL_NAME.test(name)) {
        throw invalid(`The label name ${JSON.stringify(name)} is invalid: lower-case letters, digits, ".", "_", "/" and "-", at most 63`);
      }
      if (typeof value !== 'string' || value.length > MAX_LABEL_VALUE_LENGTH || !PRINTABLE.test(value)) {
        throw invalid(`The value of label ${name} must be printable text of at most ${MAX_LABEL_VALUE_LENGTH} characters`);
      }
      checked[name] = value;
    }
    change.labels = checked;
  }
  return change;
}

/** The ownership after a change. */
export function applyOwnershipChange(current: Ownership, change: OwnershipChange): Ownership {
  const owner = change.owner ?? current.owner;
  const labels = change.labels ?? current.labels;
  return { ...(owner === undefined ? {} : { owner }), ...(labels === undefined || Object.keys(labels).length === 0 ? {} : { labels: sortedLabels(labels) }) };
}

/** Labels in name order, so that stored and printed forms are stable. */
export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Operations whose records say nothing about a write to the resource (they carry their own detail). */
const NOT_WRITES = new Set(['SetOwnership', 'AccessDenied']);

/**
 * The fields an audit record of a write gets (`detail.owner`, `detail.labels`), or undefined for records that are
 * not writes to an owned resource.
 */
export function auditOwnershipFields(operation: string, ownership: Ownership | undefined): Record<string, unknown> | undefined {
  if (NOT_WRITES.has(operation) || ownership === undefined || (ownership.owner === undefined && ownership.labels === undefined)) return undefined;
  return { ...(ownership.owner === undefined ? {} : { owner: ownership.owner }), ...(ownership.labels === undefined ? {} : { labels: ownership.labels }) };
}

/** `env=prod,team=x`: the labels as the CLI prints them. */
export function labelsText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
