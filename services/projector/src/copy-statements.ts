import type pg from 'pg';

/** A protocol message's type byte and length (which counts itself and `bodyLength` bytes). */
function messageHeader(type: number, bodyLength: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = type;
  b.writeInt32BE(bodyLength + 4, 1);
  return b;
}

/**
 * Several statements, COPY … FROM STDIN among them, sent as one simple query together with the
 * data of every COPY, in order, without waiting for the server to ask for it. Postgres runs the
 * statements one after the other and reads each COPY's data as it comes to it: the whole batch
 * goes in with one round trip, where a COPY at a time took two each (the server's request for the
 * data, then its answer), every one of them waiting for this thread to be free.
 *
 * When a statement fails, Postgres skips the rest of the message and drops the COPY data that
 * follows (the protocol says so for data sent after a failed COPY). The caller rolls back.
 * Handed to `client.query` (a pg Submittable: the client routes the server's messages to it).
 *
 * The one place that reaches into pg's internals, written for pg 8.23.1 (pinned exactly in
 * package.json): it writes to the client's socket, `connection.stream`, which pg does not
 * document, and relies on the client routing CopyInResponse, CommandComplete, ReadyForQuery and
 * errors to the handlers below. copy-statements.int.test.ts fails when either changes.
 */
export class CopyStatements implements pg.Submittable {
  /** Settles when the server has run every statement (or the first failed). */
  readonly done: Promise<void>;
  readonly text: string;
  readonly data: readonly Buffer[];
  private settle!: (err?: Error) => void;

  constructor(text: string, data: readonly Buffer[]) {
    this.text = text;
    this.data = data;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
  }

  /** Query, then CopyData and CopyDone for each COPY: the frontend messages, written at once. */
  submit(connection: pg.Connection): void {
    const socket = connection.stream;
    const text = Buffer.from(`${this.text}\0`, 'utf8');
    socket.cork();
    socket.write(messageHeader(0x51 /* Q */, text.length));
    socket.write(text);
    for (const d of this.data) {
      if (d.length > 0) {
        socket.write(messageHeader(0x64 /* d */, d.length));
        socket.write(d);
      }
      socket.write(messageHeader(0x63 /* c */, 0));
    }
    socket.uncork();
  }

  /**
   * A failed statement, or a lost connection. The client stops routing the server's messages to
   * this on an error (the ReadyForQuery that follows a failed statement goes to no one), so the
   * error settles it.
   */
  handleError(err: Error): void {
    this.settle(err);
  }

  handleReadyForQuery(): void {
    this.settle();
  }

  // The data went with the query; what the server says about each statement needs no answer.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}
