/** What every audit backend shares. */

/** Records returned when a query sets no limit. */
export const DEFAULT_AUDIT_LIMIT = 100;
