import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../src/actors/mailbox.js';

/** These items never throw: if one does, the test hears of it. */
const failLoudly = (error: unknown): never => {
  throw error;
};

/** A mailbox that logs when each item starts and ends, and runs each item's own action in between. */
function recorder() {
  const log: string[] = [];
  const actions = new Map<string, () => void>();
  let depth = 0;
  let maxDepth = 0;
  const mailbox = new Mailbox<string>((item) => {
    depth++;
    maxDepth = Math.max(maxDepth, depth);
    log.push(`start ${item}`);
    actions.get(item)?.();
    log.push(`end ${item}`);
    depth--;
  }, failLoudly);
  return { mailbox, log, actions, maxDepth: () => maxDepth };
}

describe('mailbox', () => {
  it('processes an item posted to an idle mailbox at once', () => {
    const { mailbox, log } = recorder();
    mailbox.post('a');
    expect(log).toEqual(['start a', 'end a']);
    expect(mailbox.size).toBe(0);
    expect(mailbox.running).toBe(false);
    expect(mailbox.busy).toBe(false);
  });

  it('processes items in the order they were posted, one at a time', () => {
    const { mailbox, log, actions, maxDepth } = recorder();
    actions.set('a', () => {
      mailbox.post('b');
      mailbox.post('c');
      mailbox.post('d');
    });
    mailbox.post('a');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
    expect(maxDepth()).toBe(1);
  });

  it('makes an item posted from inside processing wait until the current one finishes (no re-entrancy)', () => {
    const { mailbox, log, actions, maxDepth } = recorder();
    const seen: Array<{ size: number; running: boolean; busy: boolean }> = [];
    actions.set('outer', () => {
      mailbox.post('inner');
      seen.push({ size: mailbox.size, running: mailbox.running, busy: mailbox.busy });
      log.push('outer after post');
    });
    actions.set('inner', () => mailbox.post('innermost'));
    mailbox.post('outer');
    expect(log).toEqual(['start outer', 'outer after post', 'end outer', 'start inner', 'end inner', 'start innermost', 'end innermost']);
    expect(seen).toEqual([{ size: 1, running: true, busy: true }]);
    expect(maxDepth()).toBe(1);
    expect(mailbox.size).toBe(0);
  });

  it('turn(fn) defers posts made inside it until fn returns, and returns what fn returned', () => {
    const { mailbox, log } = recorder();
    const result = mailbox.turn(() => {
      mailbox.post('a');
      mailbox.post('b');
      log.push(`in turn, ${mailbox.size} waiting, running ${mailbox.running}`);
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual(['in turn, 2 waiting, running true', 'start a', 'end a', 'start b', 'end b']);
    expect(mailbox.running).toBe(false);
  });

  it('turn(fn) inside an item runs fn at once, and its posts wait behind the current item', () => {
    const { mailbox, log, actions } = recorder();
    actions.set('a', () => {
      const value = mailbox.turn(() => {
        mailbox.post('b');
        return 'inner';
      });
      log.push(`turn gave ${value}`);
    });
    mailbox.post('a');
    expect(log).toEqual(['start a', 'turn gave inner', 'end a', 'start b', 'end b']);
  });

  it('turn(fn) that throws still runs the items posted in it, and rethrows', () => {
    const { mailbox, log } = recorder();
    expect(() =>
      mailbox.turn(() => {
        mailbox.post('a');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(log).toEqual(['start a', 'end a']);
    expect(mailbox.running).toBe(false);
    mailbox.post('b');
    expect(log.slice(-2)).toEqual(['start b', 'end b']);
  });

  it('pause holds items (busy, not running) and resume releases them in order', () => {
    const { mailbox, log } = recorder();
    mailbox.pause();
    expect(mailbox.busy).toBe(true);
    expect(mailbox.running).toBe(false);
    mailbox.post('a');
    mailbox.post('b');
    expect(log).toEqual([]);
    expect(mailbox.size).toBe(2);
    mailbox.resume();
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(mailbox.size).toBe(0);
    expect(mailbox.busy).toBe(false);
  });

  it('pause from inside an item stops the drain after that item; resume continues it', () => {
    const { mailbox, log, actions } = recorder();
    actions.set('a', () => {
      mailbox.post('b');
      mailbox.post('c');
    });
    actions.set('b', () => mailbox.pause()); // b waits for an I/O answer
    mailbox.post('a');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(mailbox.size).toBe(1);
    expect(mailbox.busy).toBe(true);
    expect(mailbox.running).toBe(false);
    mailbox.post('d');
    expect(log).toHaveLength(4);
    mailbox.resume();
    expect(log.slice(4)).toEqual(['start c', 'end c', 'start d', 'end d']);
    expect(mailbox.busy).toBe(false);
  });

  it('resume from inside an item lets the drain under way go on, without nesting', () => {
    const { mailbox, log, actions, maxDepth } = recorder();
    actions.set('a', () => {
      mailbox.pause();
      mailbox.post('b');
      mailbox.resume();
      log.push(`after resume, ${mailbox.size} waiting`);
    });
    mailbox.post('a');
    expect(log).toEqual(['start a', 'after resume, 1 waiting', 'end a', 'start b', 'end b']);
    expect(maxDepth()).toBe(1);
  });

  it('takeAll removes and returns every waiting item', () => {
    const { mailbox, log } = recorder();
    mailbox.pause();
    mailbox.post('a');
    mailbox.post('b');
    expect(mailbox.takeAll()).toEqual(['a', 'b']);
    expect(mailbox.size).toBe(0);
    mailbox.resume();
    expect(log).toEqual([]);
    expect(mailbox.takeAll()).toEqual([]);
  });

  it('takeAll called from inside an item empties the queue, and the drain under way stops', () => {
    const { mailbox, log, actions } = recorder();
    let taken: string[] = [];
    actions.set('a', () => {
      mailbox.post('b');
      mailbox.post('c');
      mailbox.post('d');
    });
    actions.set('b', () => {
      taken = mailbox.takeAll();
    });
    mailbox.post('a');
    expect(taken).toEqual(['c', 'd']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(mailbox.size).toBe(0);
    expect(mailbox.running).toBe(false);
    // The mailbox still works afterwards.
    mailbox.post('e');
    expect(log.slice(-2)).toEqual(['start e', 'end e']);
  });

  it('takeAll from inside an item, then a post, runs only the new item', () => {
    const { mailbox, log, actions } = recorder();
    actions.set('a', () => {
      mailbox.post('b');
      mailbox.post('c');
    });
    actions.set('b', () => {
      expect(mailbox.takeAll()).toEqual(['c']);
      mailbox.post('x');
    });
    mailbox.post('a');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start x', 'end x']);
  });

  it('keeps order and size right across many items queued behind one (the queue rebases)', () => {
    const processed: number[] = [];
    const mailbox: Mailbox<number> = new Mailbox<number>((n) => {
      processed.push(n);
      if (n === 0) for (let i = 1; i <= 5000; i++) mailbox.post(i);
      if (n === 2000) expect(mailbox.size).toBe(3000);
    }, failLoudly);
    mailbox.post(0);
    expect(processed).toEqual(Array.from({ length: 5001 }, (_, i) => i));
    expect(mailbox.size).toBe(0);
  });
});
