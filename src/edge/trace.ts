/**
 * The decision trace of one edge request, published on `node:diagnostics_channel` channel
 * `openfront:edge:request` after the response is sent. It is built only while the channel has subscribers, so
 * tracing costs nothing when nobody listens (metrics, the trace log and tests are subscribers).
 */
import diagnostics_channel from 'node:diagnostics_channel';

export const EDGE_REQUEST_CHANNEL = 'openfront:edge:request';
export const edgeRequestChannel = diagnostics_channel.channel(EDGE_REQUEST_CHANNEL);

export type { EdgeTrace, FunctionTrace, OriginAttemptTrace } from '../observe/decision-trace.js';
