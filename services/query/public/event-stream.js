// The framing of text/event-stream as the live feed sends it: events end with a blank line and
// carry `event:` and `data:` fields; a line starting with `:` (the keep-alive) is a comment.

/**
 * Takes the complete events off the front of what has arrived so far; `rest` is the unfinished
 * tail, to which the next chunk is appended.
 */
export function takeEvents(buffer) {
  const events = [];
  let rest = buffer;
  let end;
  while ((end = rest.indexOf('\n\n')) >= 0) {
    const lines = rest.slice(0, end).split('\n');
    rest = rest.slice(end + 2);
    const event = lines
      .find((l) => l.startsWith('event:'))
      ?.slice(6)
      .trim();
    const data = lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .join('\n');
    if (event !== undefined || data !== '') events.push({ event: event ?? 'message', data });
  }
  return { events, rest };
}
