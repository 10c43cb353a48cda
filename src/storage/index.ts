// Picks the storage backend from configuration; a PostgreSQL case goes into the switch.
import { openSqlite } from "./sqlite.js";
import type { Storage } from "./types.js";

export type StorageConfig = {
  backend: "sqlite";
  path: string;
  /** Most offline messages kept per user (config key offline_message_limit); default 1000. */
  offlineLimit?: number;
};

export async function openStorage(config: StorageConfig): Promise<Storage> {
  switch (config.backend) {
    case "sqlite":
      return openSqlite(config.path, { offlineLimit: config.offlineLimit });
    default: {
      const unknown: never = config.backend;
      throw new Error(`unknown storage backend: ${String(unknown)}`);
    }
  }
}

export * from "./types.js";
