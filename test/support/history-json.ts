import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';

/**
 * Workflow histories as Temporal's JSON (what `temporal workflow show --output json` writes), and back.
 *
 * Not @temporalio/common's historyToJSON/historyFromJSON (nor Worker.runReplayHistory given JSON, which calls
 * the latter): in this install @temporalio/common and @temporalio/proto each have their own copy of protobufjs
 * 8.8.1 (package-lock.json), and protobufjs's protojson refuses a type built by the other copy ("type must be
 * a Type"). These use the protobufjs that @temporalio/proto's types were built with.
 */

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

let cached: { protojson: ProtoJson; historyType: unknown } | undefined;

function codec() {
  if (!cached) {
    const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- protobufjs's extension as @temporalio/proto resolves it, at run time
    const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an internal module of the SDK, loaded only when a test needs it
    const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as { patchProtobufRoot(root: unknown): { lookupType(name: string): unknown } };
    cached = { protojson, historyType: patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History') };
  }
  return cached;
}

export function historyToJson(history: History): string {
  const { protojson, historyType } = codec();
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

export function historyFromJson(json: unknown): History {
  const { protojson, historyType } = codec();
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new TypeError('not a workflow history: no events');
  return history;
}
