/** The config file: schema, loader and resolved types. */
export { loadConfig, parseConfig, formatPath, CONFIG_FILE_NAMES, BUILTIN_CACHE_POLICIES } from './load.js';
export type * from './types.js';
