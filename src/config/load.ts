import { schema, ConfigValueError, type Config, type ConfigKey } from './schema.js';

export class ConfigError extends Error {}

/**
 * Loads configuration from CLI flags (highest), then environment variables, then defaults.
 * Throws ConfigError naming the offending variable or flag.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): Config {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const [name, key] of Object.entries(schema) as [string, ConfigKey<unknown>][]) {
    const fromFlag = flags[name];
    const raw = fromFlag ?? env[key.env];
    if (raw === undefined || raw === '') {
      out[name] = key.default;
      continue;
    }
    try {
      out[name] = key.parse(raw);
    } catch (e) {
      if (!(e instanceof ConfigValueError)) throw e;
      const source = fromFlag !== undefined ? key.flag : key.env;
      errors.push(`${source}=${JSON.stringify(raw)}: ${e.message}`);
    }
  }
  const c = out as Config;
  const creds = [c.accountId, c.rootAccessKeyId, c.rootSecretAccessKey].filter((v) => v !== '').length;
  if (creds !== 0 && creds !== 3) {
    errors.push('FIRN_ACCOUNT_ID, FIRN_ROOT_ACCESS_KEY_ID and FIRN_ROOT_SECRET_ACCESS_KEY must be set together (or all left unset)');
  }
  if ((c.s3AccessKeyId === '') !== (c.s3SecretAccessKey === '')) {
    errors.push('FIRN_S3_ACCESS_KEY_ID and FIRN_S3_SECRET_ACCESS_KEY must be set together (or both left unset for the AWS SDK credential chain)');
  }
  if (errors.length) throw new ConfigError(`invalid configuration:\n  ${errors.join('\n  ')}`);
  return Object.freeze(c);
}

export function defaultConfig(overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(schema)) out[name] = key.default;
  return Object.freeze({ ...(out as Config), ...overrides });
}
