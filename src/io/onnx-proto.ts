/**
 * The ONNX model file: a `ModelProto` message (onnx/onnx, onnx/onnx.proto) written with the
 * protobuf encoder of ./protobuf.ts. Only the fields a static inference graph needs; each field
 * number below is the one onnx.proto gives it:
 *   ModelProto         ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
 *                      opset_import 8, metadata_props 14
 *   OperatorSetIdProto domain 1, version 2
 *   StringStringEntryProto key 1, value 2
 *   GraphProto         node 1, name 2, initializer 5, doc_string 10, input 11, output 12
 *   NodeProto          input 1, output 2, name 3, op_type 4, attribute 5
 *   AttributeProto     name 1, f 2, i 3, s 4, floats 7, ints 8, type 20
 *                      (AttributeType FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7)
 *   TensorProto        dims 1, data_type 2, name 8, raw_data 9 (fixed-width little-endian)
 *                      (DataType FLOAT 1, INT64 7)
 *   ValueInfoProto     name 1, type 2
 *   TypeProto          tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
 *   TensorShapeProto   dim 1;  Dimension dim_value 1, dim_param 2
 */
import { ProtoWriter } from './protobuf.ts';

export type OnnxElemType = 'float' | 'int64';

const DATA_TYPE: Record<OnnxElemType, number> = { float: 1, int64: 7 };

/** A node attribute, typed as AttributeProto.AttributeType names it. */
export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'string'; value: string };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, OnnxAttr>>;
}

/** A constant tensor (an initializer): row-major values of `dims`. */
export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

/** A graph input or output: its element type and shape (a string is a symbolic dimension, e.g. 'batch'). */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxElemType;
  shape: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  docString?: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  /** IR version (onnx/onnx, docs/Versioning.md: opset 17 ↔ IR 8). */
  irVersion: number;
  /** Version of the default ('ai.onnx') operator set. */
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraph;
  /** ModelProto.metadata_props: free key/value strings (onnxruntime exposes them). */
  metadata?: readonly (readonly [string, string])[];
}

function attributeProto(name: string, a: OnnxAttr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float': return w.varint(20, 1).float32(2, a.value);
    case 'int': return w.varint(20, 2).varint(3, a.value);
    case 'string': return w.varint(20, 3).string(4, a.value);
    case 'floats': return w.varint(20, 6).packedFloats(7, a.value);
    case 'ints': return w.varint(20, 7).packedVarints(8, a.value);
    default: {
      const never: never = a;
      throw new Error(`unknown attribute kind ${JSON.stringify(never)}`);
    }
  }
}

function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, attributeProto(k, a));
  return w;
}

/** A TensorProto with its values in raw_data (little-endian, as onnx.proto requires). */
export function tensorProto(t: OnnxTensor): ProtoWriter {
  const numel = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== numel) throw new Error(`ONNX initializer ${t.name}: ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  const w = new ProtoWriter();
  w.packedVarints(1, t.dims);
  w.varint(2, DATA_TYPE[t.data instanceof Float32Array ? 'float' : 'int64']);
  w.string(8, t.name);
  // Typed arrays are little-endian on every platform Node runs on: the bytes are raw_data as they
  // are (a view, copied once by the model's finish(), so `data` must not change before that).
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().varint(1, DATA_TYPE[v.elemType]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function graphProto(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, nodeProto(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensorProto(t));
  if (g.docString !== undefined) w.string(10, g.docString);
  for (const i of g.inputs) w.message(11, valueInfoProto(i));
  for (const o of g.outputs) w.message(12, valueInfoProto(o));
  return w;
}

/** The bytes of an .onnx file. */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString !== undefined) w.string(6, m.docString);
  w.message(7, graphProto(m.graph));
  w.message(8, new ProtoWriter().string(1, '').varint(2, m.opsetVersion));
  for (const [k, v] of m.metadata ?? []) w.message(14, new ProtoWriter().string(1, k).string(2, v));
  return w.finish();
}
