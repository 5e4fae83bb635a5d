import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 8080);
    assert.equal(config.DATA_DIR, './data');
    assert.equal(config.KAFKA_BROKERS, undefined);
    assert.equal(config.CLICKHOUSE_URL, undefined);
    assert.equal(config.KAFKA_EVENTS_TOPIC, 'events');
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ KAFKA_BROKERS: '', CLICKHOUSE_URL: ' ' }).KAFKA_BROKERS, undefined);
  });

  it('names the variable, the value and the rule when a value is bad', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty' }),
      (error: unknown) => error instanceof ConfigError && /PORT="eighty"/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ CLICKHOUSE_URL: 'localhost' }),
      (error: unknown) =>
        error instanceof ConfigError && /CLICKHOUSE_URL="localhost": must be an http/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ LOG_LEVEL: 'loud', PORT: '70000' }),
      (error: unknown) =>
        error instanceof ConfigError && /LOG_LEVEL/.test(error.message) && /PORT/.test(error.message),
    );
  });
});
