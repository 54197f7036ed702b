/** pino JSON logs; every line of a service carries `service`, job lines carry `jobId`. */
import { pino, type Logger } from 'pino';
import { initialLogLevel } from '../../schemas/config.js';

export type { Logger };

/** Built at load, so its level starts from LOG_LEVEL leniently; the app sets the compiled level once the configuration is loaded. */
export const rootLogger: Logger = pino({
  level: initialLogLevel(process.env),
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});
