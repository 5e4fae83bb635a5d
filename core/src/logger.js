import { pino } from 'pino';
export function createLogger(config, name = 'sightline') {
  return pino({ name, level: config.LOG_LEVEL });
}
