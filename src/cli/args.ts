/**
 * node:util parseArgs errors as UsageError (its own texts suggest `--` tricks that make no sense
 * here).
 */
import { UsageError } from './cli-error.js';

/** Run a parseArgs call for `command`, rewording what it throws. */
export function parsing<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const message = (e as Error).message;
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(command, `unknown option '${option}'`);
    if (/argument missing/.test(message)) throw new UsageError(command, `option '${option}' needs a value`);
    if (/argument is ambiguous/.test(message)) throw new UsageError(command, `option '${option}': write ${option}=VALUE for a value starting with '-'`);
    if (/does not take an argument/.test(message)) throw new UsageError(command, `option '${option}' takes no value`);
    throw new UsageError(command, message);
  }
}
