/**
 * A store's data in JetStream (docs/fleet-edge.md): the writer used by the control role and the replica the edge role
 * reads through. Imported lazily by the fleet roles only, so `openfront start` never loads the NATS client.
 */
export { StoreDataWriter, type DataWriteResult, type OpenWriterOptions, type StoreDataStatus, type WriteOptions } from './writer.js';
export { JetStreamStoreReplica, type JetStreamStoreReplicaOptions } from './replica.js';
export { EdgeStateFile, EDGE_STATE_FILE, type SavedFunction } from './snapshot-file.js';
export type { Journal } from './journal.js';
