/** pino JSON logs; every line of a service carries `service`, job lines carry `jobId`. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const rootLogger: Logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

export function serviceLogger(service: string): Logger {
  return rootLogger.child({ service });
}
