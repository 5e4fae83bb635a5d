/**
 * Modules this benchmark uses from workspaces that bench's package.json does not list (the speed
 * layer's schema owner, ingest's enrichment, the launcher's local Kafka; scripts depends on bench, so
 * bench cannot depend on it). They resolve at run time through the workspace links; a static import
 * would make `tsc -p tsconfig.build.json` resolve them too, against dist folders that may not be
 * built yet (turbo orders only declared dependencies) and, for scripts/, outside bench's rootDir.
 * So they are imported by name at run time, typed here with just what this benchmark calls.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClickHouseClient, Config, EventInput, Logger, StoredEvent } from '@sightline/core';
import { root } from '../ingest/service-process.js';

export interface SpeedLayerModule {
  applySchema(ch: ClickHouseClient, config: Config, logger: Logger): Promise<void>;
}

/** ingest's RequestFacts: what enrichment reads besides the body. */
export interface RequestFacts {
  ip: string;
  userAgent: string;
  country: string;
  acceptLanguage: string | undefined;
  receivedAt: number;
}

export interface IngestModule {
  createEnricher(): unknown;
  toStoredEvent(
    input: EventInput,
    ts: number,
    facts: RequestFacts,
    salt: Buffer,
    enricher: unknown,
  ): StoredEvent;
}

export interface LocalKafka {
  brokers: string;
  stop(): Promise<void>;
}

export interface StackModule {
  /** An unused loopback TCP port. */
  freePort(): Promise<number>;
  startLocalKafka(options: {
    dataDir: string;
    port: number;
    controllerPort: number;
    logger: Logger;
    progress?: (line: string) => void;
  }): Promise<LocalKafka>;
}

const load = <T>(specifier: string): Promise<T> => import(specifier) as Promise<T>;

export const importSpeedLayer = (): Promise<SpeedLayerModule> => load('@sightline/speed-layer');
export const importIngest = (): Promise<IngestModule> => load('@sightline/ingest');
export const importStack = (): Promise<StackModule> =>
  load(pathToFileURL(path.join(root, 'scripts/src/stack/index.ts')).href);
