// The mailbox when processing an item throws (a bug in the actor): the failure
// goes to onError, the items behind it still run, in order, and the poster never sees it.
import { describe, expect, it } from 'vitest';
import { Mailbox } from '../../src/actors/mailbox.js';

describe('mailbox', () => {
  it('an item that throws is reported and the items queued behind it run at once, in order', () => {
    const done: string[] = [];
    const failed: string[] = [];
    const mailbox: Mailbox<string> = new Mailbox<string>(
      (item) => {
        if (item === 'first') {
          mailbox.post('bad');
          mailbox.post('after');
        }
        if (item === 'bad') throw new Error('boom');
        done.push(item);
      },
      (_error, item) => failed.push(item),
    );
    expect(() => mailbox.post('first')).not.toThrow();
    expect(done).toEqual(['first', 'after']);
    expect(failed).toEqual(['bad']);
    expect(mailbox.size).toBe(0);
    expect(mailbox.running).toBe(false);
    mailbox.post('later');
    expect(done).toEqual(['first', 'after', 'later']);
  });

  it('an item posted to an idle mailbox that throws leaves it idle and usable', () => {
    const done: string[] = [];
    const mailbox = new Mailbox<string>(
      (item) => {
        if (item === 'bad') throw new Error('boom');
        done.push(item);
      },
      () => {},
    );
    expect(() => mailbox.post('bad')).not.toThrow();
    expect(mailbox.running).toBe(false);
    mailbox.post('next');
    expect(done).toEqual(['next']);
  });
});
