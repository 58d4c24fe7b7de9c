// The live feed (`/v1/live`, server-sent events), read with fetch so that it can send the token
// (EventSource cannot send headers). Reconnects 2 s after the stream ends or fails; a 401 stops
// it until a token is entered. A view showing "now" is redrawn when the projection advances; one
// pinned to a past instant stays as it was.
import { authHeaders } from './api.js';
import { takeEvents } from './event-stream.js';
import { liveText } from './format.js';
import { showError } from './show-error.js';
import { liveStatus, params, state } from './state.js';

/** Writes the header's live line from the page's state. */
export function showLiveStatus() {
  liveStatus.textContent = liveText({
    refused: state.liveRefused,
    knownAt: params().get('knownAt'),
    liveSeq: state.liveSeq,
    shownSeq: state.shownSeq,
  });
}

function onSeq(asOfSeq) {
  state.liveSeq = asOfSeq;
  if (state.refresh && asOfSeq > state.shownSeq && !params().get('knownAt'))
    void state.refresh(asOfSeq).catch(showError);
  showLiveStatus();
}

/** Each connectLive starts a new generation; the loops of older ones end. */
let liveGeneration = 0;

/** Opens the live feed, closing the one before (after a token was entered, say). */
export function connectLive() {
  const generation = ++liveGeneration;
  const run = async () => {
    const res = await fetch('/v1/live', { headers: authHeaders('text/event-stream') });
    state.liveRefused = res.status === 401;
    if (state.liveRefused) {
      showLiveStatus();
      return false;
    }
    if (!res.ok || !res.body) throw new Error(`${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (generation === liveGeneration) {
      const { value, done } = await reader.read();
      if (done) break;
      const { events, rest } = takeEvents(buffer + value);
      buffer = rest;
      for (const e of events) if (e.event === 'seq' && e.data) onSeq(JSON.parse(e.data).asOfSeq);
    }
    await reader.cancel().catch(() => undefined);
    return true;
  };
  const loop = async () => {
    while (generation === liveGeneration) {
      let again = true;
      try {
        again = await run();
      } catch {
        // reconnect below
      }
      if (!again || generation !== liveGeneration) return;
      liveStatus.textContent = 'Live updates paused; reconnecting…';
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void loop();
}
