import { DefaultDeserializer, DefaultSerializer } from 'node:v8';

// kvbus's own pipe to a child process carries length-prefixed frames: a 4-byte
// big-endian length, then the message as `v8.serialize` writes it (what Node's
// 'advanced' IPC serialization sends too). Each frame is decoded on its own,
// inside a try/catch: a value this side cannot read (nested deeper than its
// stack allows) costs that frame only, and the next one starts where the length
// says. Only a header that cannot be true (a length of 0, or over the limit)
// leaves no way to find the next frame.

/** Bytes before each frame's body. */
const HEADER = 4;
const PLACEHOLDER = new Uint8Array(HEADER);

/** The largest frame body either side sends or accepts. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/**
 * Serializes one message as a frame.
 * @param message - the message
 * @param maxBytes - the largest body allowed
 * @returns the frame; throws when the message cannot be cloned or is too big
 */
export function encodeFrame(message: unknown, maxBytes = MAX_FRAME_BYTES): Buffer {
  const serializer = new DefaultSerializer();
  // The header's room is written first, so the frame is one buffer with no copy.
  serializer.writeRawBytes(PLACEHOLDER);
  serializer.writeHeader();
  serializer.writeValue(message);
  const frame = serializer.releaseBuffer();
  const length = frame.length - HEADER;
  if (length > maxBytes) throw new RangeError(`A message of ${length} bytes is over the limit of ${maxBytes} bytes`);
  frame.writeUInt32BE(length, 0);
  return frame;
}

/** What a {@link FrameReader} hands on, in the order the frames came. */
export interface FrameSink {
  message(message: unknown): void;
  /** A frame whose body could not be decoded here. */
  undecodable(error: unknown): void;
  /** The framing is lost: nothing after this can be read. */
  broken(reason: string): void;
}

/** Splits a byte stream into frames and decodes each one. */
export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The body length of the frame being read, once its header is in. */
  #need = -1;
  #broken = false;

  /**
   * @param sink - where messages go
   * @param maxBytes - the largest body accepted
   */
  constructor(sink: FrameSink, maxBytes = MAX_FRAME_BYTES) {
    this.#sink = sink;
    this.#maxBytes = maxBytes;
  }

  /** Reads what arrived. */
  push(chunk: Buffer): void {
    if (this.#broken || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (!this.#broken) {
      if (this.#need < 0) {
        if (this.#buffered < HEADER) return;
        const length = this.#take(HEADER).readUInt32BE(0);
        if (length === 0 || length > this.#maxBytes) {
          this.#broken = true;
          this.#chunks = [];
          this.#sink.broken(`a frame header announced ${length} bytes (accepted: 1 to ${this.#maxBytes})`);
          return;
        }
        this.#need = length;
      }
      if (this.#buffered < this.#need) return;
      const body = this.#take(this.#need);
      this.#need = -1;
      let message: unknown;
      try {
        message = decode(body);
      } catch (error) {
        this.#sink.undecodable(error);
        continue;
      }
      // Outside the try: a failure in the handler is not the frame's.
      this.#sink.message(message);
    }
  }

  /** Takes `n` buffered bytes (n ≤ buffered): a view when they lie in one chunk, else one copy. */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const chunk = this.#chunks[0]!;
        const part = Math.min(chunk.length, n - at);
        chunk.copy(out, at, 0, part);
        at += part;
        if (part === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(part);
      }
    }
    this.#buffered -= n;
    return out;
  }
}

/**
 * Node's deserializer makes a typed array a view over the bytes it reads, that
 * is over the whole frame (and, for a small frame, over Node's shared pool of
 * buffers): a stored `Uint8Array(4)` would carry, and keep alive, every other
 * value of its batch. This one copies each view into a buffer of its own size.
 */
// `_readHostObject` is Node's documented hook (v8.Deserializer), missing from @types/node.
const readHostObject = (DefaultDeserializer.prototype as unknown as { _readHostObject(): unknown })._readHostObject;

class CopyingDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = readHostObject.call(this) as ArrayBufferView;
    if (Buffer.isBuffer(view)) return Buffer.from(view);
    if (view instanceof DataView) return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
    const TypedArray = view.constructor as new (source: ArrayBufferView) => ArrayBufferView;
    return new TypedArray(view);
  }
}

/** `v8.deserialize`, with typed arrays copied out of the frame (see CopyingDeserializer). */
function decode(body: Buffer): unknown {
  const deserializer = new CopyingDeserializer(body);
  deserializer.readHeader();
  return deserializer.readValue();
}
