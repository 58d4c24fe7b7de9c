// A read that failed: a 401 asks for a token, anything else is said in the view's place.
import { NeedsToken } from './api.js';
import { h, replace } from './dom.js';
import { main } from './state.js';
import { askForToken } from './token-prompt.js';

export function showError(err) {
  if (err instanceof NeedsToken) return askForToken(err.message);
  replace(
    main,
    h('p', { class: 'error', role: 'alert' }, `Could not load: ${err instanceof Error ? err.message : String(err)}`),
  );
}
