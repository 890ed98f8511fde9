/**
 * Decodes what an OTLP/HTTP trace exporter sent, both encodings, into one shape for assertions.
 * Protobuf by a small reader of the wire format for the few messages of
 * opentelemetry/proto/collector/trace/v1 (field numbers from the .proto files), JSON per the OTLP/JSON
 * mapping (ids as hex).
 */
import type { ReceivedRequest } from "./OtlpReceiver.js"

export type AttributeValue = string | number | boolean | ReadonlyArray<AttributeValue> | {
  readonly [key: string]: AttributeValue
}
export type Attributes = Readonly<Record<string, AttributeValue>>

export interface DecodedSpan {
  readonly traceId: string
  readonly spanId: string
  /** "" for a span without parent. */
  readonly parentSpanId: string
  readonly name: string
  readonly startTime: bigint
  readonly endTime: bigint
  readonly attributes: Attributes
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Attributes }>
  /** 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message: string }
}

export interface DecodedExport {
  readonly resource: Attributes
  readonly spans: ReadonlyArray<DecodedSpan>
}

// Protobuf wire format: a message is a sequence of (field number, wire type, value).

type Field = { readonly wire: 0; readonly value: bigint } | { readonly wire: 1 | 2 | 5; readonly value: Uint8Array }

const varint = (bytes: Uint8Array, offset: number): [bigint, number] => {
  let result = 0n
  let shift = 0n
  for (let i = offset; i < bytes.length; i++) {
    const byte = bytes[i]!
    result |= BigInt(byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [result, i + 1]
    shift += 7n
  }
  throw new Error(`truncated varint at ${offset}`)
}

const fieldsOf = (bytes: Uint8Array): Map<number, Array<Field>> => {
  const fields = new Map<number, Array<Field>>()
  let offset = 0
  while (offset < bytes.length) {
    const [key, afterKey] = varint(bytes, offset)
    const number = Number(key >> 3n)
    const wire = Number(key & 7n)
    let field: Field
    if (wire === 0) {
      const [value, next] = varint(bytes, afterKey)
      field = { wire, value }
      offset = next
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4
      field = { wire, value: bytes.subarray(afterKey, afterKey + size) }
      offset = afterKey + size
    } else if (wire === 2) {
      const [length, start] = varint(bytes, afterKey)
      field = { wire, value: bytes.subarray(start, start + Number(length)) }
      offset = start + Number(length)
    } else {
      throw new Error(`unsupported wire type ${wire} (field ${number})`)
    }
    if (offset > bytes.length) throw new Error(`field ${number} runs past the end of its message`)
    fields.set(number, [...(fields.get(number) ?? []), field])
  }
  return fields
}

const bytesOf = (fields: Map<number, Array<Field>>, number: number): Array<Uint8Array> =>
  (fields.get(number) ?? []).flatMap((field) => field.wire === 0 ? [] : [field.value])
const messages = (fields: Map<number, Array<Field>>, number: number) => bytesOf(fields, number).map(fieldsOf)
const message = (fields: Map<number, Array<Field>>, number: number) => messages(fields, number)[0] ?? new Map()
const text = (fields: Map<number, Array<Field>>, number: number) =>
  Buffer.from(bytesOf(fields, number)[0] ?? []).toString("utf8")
const hex = (fields: Map<number, Array<Field>>, number: number) =>
  Buffer.from(bytesOf(fields, number)[0] ?? []).toString("hex")
const varintOf = (fields: Map<number, Array<Field>>, number: number): bigint => {
  const field = fields.get(number)?.[0]
  return field?.wire === 0 ? field.value : 0n
}
const fixed64 = (fields: Map<number, Array<Field>>, number: number): bigint => {
  const value = bytesOf(fields, number)[0]
  return value === undefined ? 0n : Buffer.from(value).readBigUInt64LE()
}

/** AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue, 6 KeyValueList, 7 bytes. */
const anyValue = (fields: Map<number, Array<Field>>): AttributeValue => {
  if (fields.has(1)) return text(fields, 1)
  if (fields.has(2)) return varintOf(fields, 2) !== 0n
  if (fields.has(3)) return Number(BigInt.asIntN(64, varintOf(fields, 3)))
  if (fields.has(4)) return Buffer.from(bytesOf(fields, 4)[0]!).readDoubleLE()
  if (fields.has(5)) return messages(message(fields, 5), 1).map(anyValue)
  if (fields.has(6)) return keyValues(messages(message(fields, 6), 1))
  return hex(fields, 7)
}

/** KeyValue: 1 key, 2 value. */
const keyValues = (list: ReadonlyArray<Map<number, Array<Field>>>): Attributes =>
  Object.fromEntries(list.map((kv) => [text(kv, 1), anyValue(message(kv, 2))]))

/**
 * ExportTraceServiceRequest: 1 ResourceSpans. ResourceSpans: 1 Resource (1 attributes), 2 ScopeSpans.
 * ScopeSpans: 2 Span. Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 7/8 start/end (fixed64),
 * 9 attributes, 11 Event (2 name, 3 attributes), 15 Status (2 message, 3 code).
 */
export const decodeProtobuf = (body: Uint8Array): Array<DecodedExport> =>
  messages(fieldsOf(body), 1).map((resourceSpans) => ({
    resource: keyValues(messages(message(resourceSpans, 1), 1)),
    spans: messages(resourceSpans, 2).flatMap((scopeSpans) =>
      messages(scopeSpans, 2).map((span): DecodedSpan => ({
        traceId: hex(span, 1),
        spanId: hex(span, 2),
        parentSpanId: hex(span, 4),
        name: text(span, 5),
        startTime: fixed64(span, 7),
        endTime: fixed64(span, 8),
        attributes: keyValues(messages(span, 9)),
        events: messages(span, 11).map((event) => ({
          name: text(event, 2),
          attributes: keyValues(messages(event, 3))
        })),
        status: { code: Number(varintOf(message(span, 15), 3)), message: text(message(span, 15), 2) }
      }))
    )
  }))

// OTLP/JSON: the same messages as lowerCamelCase objects.

interface JsonKeyValue {
  readonly key: string
  readonly value: JsonAnyValue
}
interface JsonAnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: number | string
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<JsonAnyValue> }
  readonly kvlistValue?: { readonly values?: ReadonlyArray<JsonKeyValue> }
  readonly bytesValue?: string
}
interface JsonSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly startTimeUnixNano: string | number
  readonly endTimeUnixNano: string | number
  readonly attributes?: ReadonlyArray<JsonKeyValue>
  readonly events?: ReadonlyArray<{ readonly name: string; readonly attributes?: ReadonlyArray<JsonKeyValue> }>
  readonly status?: { readonly code?: number; readonly message?: string }
}
interface JsonTraces {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<JsonKeyValue> }
    readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<JsonSpan> }>
  }>
}

const jsonValue = (value: JsonAnyValue): AttributeValue =>
  value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
    value.doubleValue ??
    (value.arrayValue !== undefined
      ? (value.arrayValue.values ?? []).map(jsonValue)
      : value.kvlistValue !== undefined
      ? jsonAttributes(value.kvlistValue.values)
      : value.bytesValue ?? "")

const jsonAttributes = (list: ReadonlyArray<JsonKeyValue> | undefined): Attributes =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, jsonValue(value)]))

export const decodeJson = (body: Uint8Array): Array<DecodedExport> =>
  ((JSON.parse(Buffer.from(body).toString("utf8")) as JsonTraces).resourceSpans ?? []).map((resourceSpans) => ({
    resource: jsonAttributes(resourceSpans.resource?.attributes),
    spans: (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span): DecodedSpan => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? "",
        name: span.name,
        startTime: BigInt(span.startTimeUnixNano),
        endTime: BigInt(span.endTimeUnixNano),
        attributes: jsonAttributes(span.attributes),
        events: (span.events ?? []).map((event) => ({
          name: event.name,
          attributes: jsonAttributes(event.attributes)
        })),
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? "" }
      }))
    )
  }))

/** Decodes one request by its content type; anything else is a test failure. */
export const decodeRequest = (request: ReceivedRequest): Array<DecodedExport> => {
  const type = request.headers["content-type"] ?? ""
  if (type.startsWith("application/x-protobuf")) return decodeProtobuf(request.body)
  if (type.startsWith("application/json")) return decodeJson(request.body)
  throw new Error(`unexpected content-type ${JSON.stringify(type)}`)
}
