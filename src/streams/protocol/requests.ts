import type { CommandSpec } from '../../commands/define.js';
import { type Command, SPEC_BY_CODE, SPEC_BY_TYPE } from '../../commands/table.js';
import { KvbusError } from '../../errors.js';
import { REQUEST_HEADER } from './framing.js';

// A request on the wire is `seq, opcode, ...fields`, then, when one of the
// command's options is set, one array of its options. The opcode is the
// command's code times two, plus one when the options follow, so that a
// reader knows where the next request starts without looking inside.

type Fields = Record<string, unknown>;

/**
 * Appends one request to a batch.
 * @param out - the batch
 * @param seq - the request's sequence number
 * @param cmd - the command
 * @param known - its descriptor, when the caller has it at hand
 */
export function pushRequest(out: unknown[], seq: number, cmd: Command, known?: CommandSpec): void {
  const spec: CommandSpec | undefined = known ?? SPEC_BY_TYPE[cmd.type];
  if (spec?.code === undefined) throw new KvbusError('ERR_BAD_ARGUMENT', `The command ${String(cmd.type)} cannot be sent to a store`);
  const values = cmd as unknown as Fields;
  const options = optionsOf(spec, values);
  out.push(seq, options ? spec.code * 2 + 1 : spec.code * 2);
  const fields = spec.fields;
  for (let i = 0; i < fields.length; i++) out.push(values[fields[i]!]);
  if (options) out.push(options);
}

/** The command's options as one array, or undefined when none is set. */
function optionsOf(spec: CommandSpec, values: Fields): unknown[] | undefined {
  const options = spec.options;
  if (options === undefined) return undefined;
  for (let i = 0; i < options.length; i++) {
    if (values[options[i]!] !== undefined) return options.map((name) => values[name]);
  }
  return undefined;
}

/** The descriptor of an opcode, or undefined for one this protocol does not know. */
function specOf(opcode: unknown): CommandSpec | undefined {
  if (typeof opcode !== 'number' || !Number.isInteger(opcode) || opcode < 0 || opcode >= SPEC_BY_CODE.length * 2) return undefined;
  const spec = SPEC_BY_CODE[opcode >> 1];
  return spec && (opcode & 1) === 1 && spec.options === undefined ? undefined : spec;
}

/**
 * Reads the request at `at` (whose slot `at` is its seq). The fields may be
 * anything (the actor validates them); a request that cannot be framed (an
 * unknown opcode, options that are not an array) reads as undefined.
 * @param m - the batch
 * @param at - where the request starts
 * @returns the command, or undefined
 */
export function readRequest(m: readonly unknown[], at: number): Command | undefined {
  const opcode = m[at + 1];
  const spec = specOf(opcode);
  if (spec === undefined) return undefined;
  const cmd: Fields = { type: spec.type };
  const fields = spec.fields;
  let i = 0;
  for (; i < fields.length; i++) cmd[fields[i]!] = m[at + 2 + i];
  if (((opcode as number) & 1) === 1) {
    const options = m[at + 2 + i];
    if (!Array.isArray(options)) return undefined;
    const names = spec.options!;
    for (let j = 0; j < names.length; j++) if (options[j] !== undefined) cmd[names[j]!] = options[j];
  }
  return cmd as unknown as Command;
}

/**
 * The descriptor of the request at `at`, as its opcode names it (after {@link readRequest} framed it).
 * @param m - the batch
 * @param at - where the request starts
 * @returns the descriptor
 */
export function requestSpec(m: readonly unknown[], at: number): CommandSpec {
  return SPEC_BY_CODE[(m[at + 1] as number) >> 1]!;
}

/**
 * Where the request after the one at `at` starts (its opcode must be known).
 * @param m - the batch
 * @param at - where the request starts
 * @returns the index of the next request
 */
export function nextRequest(m: readonly unknown[], at: number): number {
  const opcode = m[at + 1] as number;
  return at + 2 + SPEC_BY_CODE[opcode >> 1]!.fields.length + (opcode & 1);
}

/**
 * Reads every request of a batch (after its header), in order. A request that
 * cannot be framed (a bad seq, an unknown opcode) ends the batch: what follows
 * it cannot be found. Its seq is given when it is one, so that it can be answered.
 * @param m - the batch
 * @param request - called for each framed request: its seq, command and descriptor
 * @param unframed - called once for the request that could not be framed, if any
 */
export function readBatch(
  m: readonly unknown[],
  request: (seq: number, cmd: Command, spec: CommandSpec) => void,
  unframed: (seq: number | undefined, opcode: unknown) => void,
): void {
  for (let at = REQUEST_HEADER; at < m.length; ) {
    const seq = m[at];
    const cmd = readRequest(m, at);
    const isSeq = typeof seq === 'number' && seq > 0 && Number.isInteger(seq);
    if (!isSeq || !cmd) return unframed(isSeq ? seq : undefined, m[at + 1]);
    const spec = requestSpec(m, at);
    at = nextRequest(m, at);
    request(seq, cmd, spec);
  }
}
