// PEP nodes and items (XEP-0163) on SQLite. Items are ordered by a per-node sequence number
// rather than by time, so two publications in the same millisecond still have an order and
// `max_items` always trims the oldest (XEP-0060 §7.1.2: a republished id becomes the newest).
import type Database from "better-sqlite3";
import type { PepItemRecord, PepNodeRecord, PepStore } from "./types.js";

type Db = Database.Database;

interface NodeRow {
  owner: string;
  node: string;
  config: string;
}
interface ItemRow {
  id: string;
  payload: string;
  publisher: string | null;
  published_at: number;
}

const toNode = (r: NodeRow): PepNodeRecord => ({ owner: r.owner, node: r.node, config: JSON.parse(r.config) as Record<string, string> });

function toItem(r: ItemRow): PepItemRecord {
  const item: PepItemRecord = { id: r.id, payload: r.payload, publishedAt: r.published_at };
  if (r.publisher !== null) item.publisher = r.publisher;
  return item;
}

export function pepStore(db: Db): PepStore {
  const selectNode = db.prepare<[string, string], NodeRow>("SELECT owner, node, config FROM pep_nodes WHERE owner = ? AND node = ?");
  const selectNodes = db.prepare<[string], NodeRow>("SELECT owner, node, config FROM pep_nodes WHERE owner = ? ORDER BY node");
  const countNodes = db.prepare<[string], number>("SELECT count(*) FROM pep_nodes WHERE owner = ?").pluck();
  const userExists = db.prepare<[string], number>("SELECT 1 FROM users WHERE username = ?").pluck();
  const insertNode = db.prepare("INSERT INTO pep_nodes (owner, node, config) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
  const updateConfig = db.prepare("UPDATE pep_nodes SET config = ? WHERE owner = ? AND node = ?");
  const deleteNode = db.prepare("DELETE FROM pep_nodes WHERE owner = ? AND node = ?");
  const deleteItem = db.prepare("DELETE FROM pep_items WHERE owner = ? AND node = ? AND id = ?");
  const insertItem = db.prepare(
    `INSERT INTO pep_items (owner, node, id, seq, payload, publisher, published_at)
     SELECT ?, ?, ?, coalesce(max(seq), 0) + 1, ?, ?, ? FROM pep_items WHERE owner = ? AND node = ?`,
  );
  // Everything older than the newest `keep`.
  const trim = db.prepare(
    `DELETE FROM pep_items WHERE owner = ? AND node = ? AND seq <= (
       SELECT seq FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );
  const cols = "id, payload, publisher, published_at";
  const selectItems = db.prepare<[string, string, number], ItemRow>(`SELECT ${cols} FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT ?`);
  const selectItem = db.prepare<[string, string, string], ItemRow & { seq: number }>(
    `SELECT ${cols}, seq FROM pep_items WHERE owner = ? AND node = ? AND id = ?`,
  );

  const createNode = db.transaction((r: PepNodeRecord, maxNodes: number): "created" | "exists" | "limit" => {
    if (selectNode.get(r.owner, r.node)) return "exists";
    if (!userExists.get(r.owner) || (countNodes.get(r.owner) ?? 0) >= maxNodes) return "limit";
    insertNode.run(r.owner, r.node, JSON.stringify(r.config));
    return "created";
  });
  const putItem = db.transaction((owner: string, node: string, item: PepItemRecord, keep: number): void => {
    deleteItem.run(owner, node, item.id);
    insertItem.run(owner, node, item.id, item.payload, item.publisher ?? null, item.publishedAt, owner, node);
    trim.run(owner, node, owner, node, keep);
  });
  const setConfig = db.transaction((owner: string, node: string, config: Record<string, string>, keep: number): boolean => {
    if (updateConfig.run(JSON.stringify(config), owner, node).changes === 0) return false;
    trim.run(owner, node, owner, node, keep);
    return true;
  });
  const itemsById = db.transaction((owner: string, node: string, ids: string[]) =>
    ids
      .map((id) => selectItem.get(owner, node, id))
      .filter((r) => r !== undefined)
      .sort((a, b) => b.seq - a.seq)
      .map(toItem),
  );

  return {
    getNode: async (owner, node) => {
      const row = selectNode.get(owner, node);
      return row && toNode(row);
    },
    listNodes: async (owner) => selectNodes.all(owner).map(toNode),
    createNode: async (record, maxNodes) => createNode.immediate(record, maxNodes),
    setConfig: async (owner, node, config, keep) => setConfig.immediate(owner, node, config, keep),
    // One statement; ON DELETE CASCADE removes the items.
    deleteNode: async (owner, node) => deleteNode.run(owner, node).changes > 0,
    putItem: async (owner, node, item, keep) => putItem.immediate(owner, node, item, keep),
    items: async (owner, node, max) => selectItems.all(owner, node, max).map(toItem),
    itemsById: async (owner, node, ids) => itemsById(owner, node, ids),
    retract: async (owner, node, id) => deleteItem.run(owner, node, id).changes > 0,
  };
}
