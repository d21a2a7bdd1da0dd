/**
 * How an error names a setting: a library function names the option field it was given
 * (`steps`, `shardSize`), the CLI names the flag that set it (`--steps`, `--shard-size`). Deep
 * functions take a namer (default: field names) so that one check serves both.
 */
export type SettingNamer = (field: string) => string;

/** The field as it is: what a library caller wrote. */
export const fieldName: SettingNamer = (field) => field;

/** The CLI flag of a camelCase field: `shardSize` → `--shard-size`. */
export const flagName: SettingNamer = (field) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
